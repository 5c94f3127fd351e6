import type { Client as OpenSearch } from "@opensearch-project/opensearch";
import type { Admin } from "kafkajs";
import type { Sql } from "postgres";
import { Gauge } from "prom-client";
import { registry } from "../../infra/platform/metrics.ts";
import {
  keysMatching,
  type RedisClient,
  WORKER_STATUS_PATTERN,
  workerStatusKey,
} from "../../infra/platform/redis-keys.ts";

export type Dependencies = { admin: Admin; redis: RedisClient; sql: Sql; search: OpenSearch };

export type Check = { ok: boolean; ms: number; error?: string };

async function timed(probe: () => Promise<unknown>, timeoutMs: number): Promise<Check> {
  const started = performance.now();
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      ok: false,
      ms: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** The views' workers as they last said (each writes its status every few seconds, wherever it runs): state, lag, counters. */
export async function viewStates(
  redis: RedisClient,
): Promise<Record<string, { state?: string; lag?: number; lastError?: string | null }>> {
  const keys = await keysMatching(redis, WORKER_STATUS_PATTERN);
  if (keys.length === 0) return {};
  const values = await redis.mget(keys);
  return Object.fromEntries(
    keys.flatMap((key, i) => (values[i] ? [[key.slice(workerStatusKey("").length), JSON.parse(values[i]!)]] : [])),
  );
}

/** Ready means every store answers now; each check is bounded so /readyz never hangs. */
export async function checkDependencies(deps: Dependencies, timeoutMs = 2000): Promise<Record<string, Check>> {
  const [broker, redis, postgres, opensearch] = await Promise.all([
    timed(() => deps.admin.describeCluster(), timeoutMs),
    timed(() => deps.redis.ping(), timeoutMs),
    timed(() => deps.sql`select 1`, timeoutMs),
    timed(async () => {
      const { body } = await deps.search.cluster.health({});
      if (body.status === "red") throw new Error("cluster health is red");
    }, timeoutMs),
  ]);
  return { broker, redis, postgres, opensearch };
}

/**
 * `cdp_dependency_up{dependency}` on the API's /metrics, checked when
 * Prometheus scrapes, so an alert sees readiness fail without anyone
 * calling /readyz. The newest app's dependencies are the ones checked.
 */
export function registerDependencyGauge(deps: Dependencies): void {
  registry.removeSingleMetric("cdp_dependency_up");
  new Gauge({
    name: "cdp_dependency_up",
    help: "1 when the API reaches the dependency (broker, redis, postgres, opensearch), checked at each scrape",
    labelNames: ["dependency"] as const,
    registers: [registry],
    async collect() {
      for (const [dependency, check] of Object.entries(await checkDependencies(deps)))
        this.set({ dependency }, check.ok ? 1 : 0);
    },
  });
}
