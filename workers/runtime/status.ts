import { createRedis } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { metricsResponse } from "../../infra/platform/metrics.ts";
import { type RedisClient, workerStatusKey } from "../../infra/platform/redis-keys.ts";
import { EXIT_SETTINGS } from "./exits.ts";
import type { Running } from "./runner.ts";

/**
 * Health and counters of the workers in this process over HTTP (SPEC §2.4):
 * GET /status -> each worker's counters (processed, retried, dead-lettered,
 * last error, lag, and whatever the worker adds, such as its circuit
 * breaker); GET /metrics -> the process's Prometheus metrics; GET /healthz
 * -> 200 while the process runs.
 */
export function serveStatus(running: readonly Running[], port: number, hostname = "127.0.0.1") {
  return Bun.serve({
    port,
    hostname,
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/healthz") return Response.json({ ok: true });
      if (pathname === "/metrics") return metricsResponse();
      if (pathname === "/status")
        return Response.json({ workers: Object.fromEntries(running.map((r) => [r.name, statusOf(r)])) });
      return Response.json({ error: "not_found", message: "try /status, /metrics or /healthz" }, { status: 404 });
    },
  });
}

/** The runner's counters and the worker's own; an error either side saw is kept (a worker's own lastError may be null while the runner's is not). */
function statusOf(r: Running) {
  const details = (r.details?.() ?? {}) as { lastError?: string | null };
  const stats = r.stats as { lastError?: string | null };
  return { ...r.stats, ...details, lastError: stats.lastError ?? details.lastError ?? null };
}

/** How often each worker's status is written to Redis, and how long it stays there without a new one. */
const PUBLISH_EVERY_MS = 5000;
const PUBLISHED_FOR_SECONDS = 15;

/**
 * Write each worker's status to Redis (`status:<worker>`, expiring), so the
 * API's /readyz can say which views are running, restoring or stopped,
 * whatever process runs them. Returns a stop function.
 */
export function publishStatus(
  running: readonly Running[],
  config: Config,
  redis: RedisClient = createRedis(config),
): () => void {
  const publish = () => {
    const pipeline = redis.pipeline();
    for (const r of running)
      pipeline.set(
        workerStatusKey(r.name),
        JSON.stringify({ ...statusOf(r), at: new Date().toISOString() }),
        "EX",
        PUBLISHED_FOR_SECONDS,
      );
    pipeline.exec().catch(() => {});
  };
  publish();
  const timer = setInterval(publish, PUBLISH_EVERY_MS);
  return () => {
    clearInterval(timer);
    redis.disconnect();
  };
}

/**
 * Serve the status on WORKER_STATUS_HOST:WORKER_STATUS_PORT (port 0: none);
 * it has no authentication, so it listens on loopback unless configured. A
 * port that cannot be had stops start-up, saying which.
 */
export async function startStatus(running: readonly Running[], config: Config): Promise<void> {
  if (config.WORKER_STATUS_PORT === 0) return;
  try {
    const server = serveStatus(running, config.WORKER_STATUS_PORT, config.WORKER_STATUS_HOST);
    console.log(`worker status on http://${config.WORKER_STATUS_HOST}:${server.port}/status`);
  } catch (error) {
    console.error(
      `WORKER_STATUS_HOST:WORKER_STATUS_PORT ${config.WORKER_STATUS_HOST}:${config.WORKER_STATUS_PORT}: cannot listen (${(error as Error).message}); set another port, or 0 for none`,
    );
    await Promise.all(running.map((r) => r.stop()));
    process.exit(EXIT_SETTINGS);
  }
}
