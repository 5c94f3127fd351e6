import type { Client as OpenSearch } from "@opensearch-project/opensearch";
import type { Admin } from "kafkajs";
import type Redis from "ioredis";
import type { Sql } from "postgres";

export type Dependencies = { admin: Admin; redis: Redis; sql: Sql; search: OpenSearch };

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
    return { ok: false, ms: Math.round(performance.now() - started), error: error instanceof Error ? error.message : String(error) };
  }
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
