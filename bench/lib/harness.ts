import type { Subprocess } from "bun";
import { type Config, loadConfig } from "../../infra/platform/config.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * The bench's own database, Redis db and indices, so figures never mix with
 * a developer's data; the broker topics are shared (bench users have their
 * own ids).
 */
export function benchEnv(base: Config): Record<string, string> {
  const database = new URL(base.DATABASE_URL);
  database.pathname = `${database.pathname.slice(1) || "postgres"}_bench`;
  const redis = new URL(base.REDIS_URL);
  redis.pathname = "/14";
  return {
    DATABASE_URL: database.toString(),
    REDIS_URL: redis.toString(),
    INDEX_PREFIX: "cdp-bench-",
    CONSUMER_GROUP_PREFIX: "bench-",
    PORT: "18280",
    LOG_LEVEL: "warn",
    WORKER_STATUS_PORT: "0",
    // One key drives 10,000 requests/s: the limiter runs on every request (its cost is measured) but never says no.
    RATE_LIMIT_PER_SECOND: "1000000",
    RATE_LIMIT_BURST: "10000000",
  };
}

export const benchConfig = (env: Record<string, string>) => loadConfig({ ...process.env, ...env });

export type Child = { process: Subprocess; stop(): Promise<void> };

/** Where worker, API and export processes write CPU profiles (`bun run bench --profile`), if they do. */
let profileDir: string | undefined;
/** The processes of the system under test (not the load generators): workers, the API and the export run. */
const PROFILED = ["workers/", "api/", "bench/export-run.ts"];
export const profileSystemTo = (dir: string) => {
  profileDir = dir;
};

/** A separate process (API, worker, load generator) with the bench env; the system's own under the CPU profiler with --profile. */
export function spawnBun(args: string[], env: Record<string, string>, output: "inherit" | "pipe" = "inherit"): Child {
  const profiled =
    profileDir && PROFILED.some((entry) => args[0]?.startsWith(entry))
      ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${profileDir}`]
      : [];
  const child = Bun.spawn([process.execPath, ...profiled, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: output,
    stderr: "inherit",
  });
  return {
    process: child,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await child.exited;
      clearTimeout(timer);
    },
  };
}

/** Run a bench process to the end and parse the JSON line it prints last. */
export async function runJson<T>(args: string[], env: Record<string, string>): Promise<T> {
  const child = spawnBun(args, env, "pipe");
  const out = await new Response(child.process.stdout as ReadableStream).text();
  const code = await child.process.exited;
  const last = out.trim().split("\n").pop() ?? "";
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}: ${out.slice(-500)}`);
  return JSON.parse(last) as T;
}

export async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(200);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}
