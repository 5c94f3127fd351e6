import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isListening } from "../infra/tools/stack/net.ts";
import { isAlive } from "../infra/tools/stack/proc.ts";
import { runCommand, testConfig } from "./helpers.ts";

/**
 * A second, separate stack (its own runtime folder and ports) taken through
 * up, up again, status and down, so the developer's stack is never touched.
 * Its Postgres and Redis ports are free, so this also covers starting
 * project-local Postgres and Redis servers, and, since its broker can be
 * killed without harming other tests, the API's 503 when the broker is gone.
 */

const runtime = mkdtempSync(join(tmpdir(), "cdp-stack-test-"));
// Postgres runs as the `postgres` user and must reach its data folder.
chmodSync(runtime, 0o755);
// Reuse the jars the main stack already fetched.
symlinkSync(join(testConfig().RUNTIME_DIR, "jars"), join(runtime, "jars"));

const ports = {
  kafka: 19092,
  controller: 19093,
  opensearch: 9250,
  transport: 9350,
  postgres: 15432,
  redis: 16379,
  smtp: 12525,
};
const env = {
  RUNTIME_DIR: runtime,
  KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
  OPENSEARCH_URL: `http://127.0.0.1:${ports.opensearch}`,
  DATABASE_URL: `postgres://postgres@127.0.0.1:${ports.postgres}/cdp`,
  REDIS_URL: `redis://127.0.0.1:${ports.redis}/0`,
  SMTP_URL: `smtp://127.0.0.1:${ports.smtp}`,
  KAFKA_HEAP: "256m",
  OPENSEARCH_HEAP: "512m",
};
const stack = (command: string) => runCommand([process.execPath, "infra/tools/stack/cli.ts", command], env, 300_000);

/** Processes whose command line names this stack's runtime folder. */
function processesUsing(path: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}

afterAll(async () => {
  await stack("down");
  rmSync(runtime, { recursive: true, force: true });
});

describe("stack up, status and down", () => {
  test("up starts all five servers; a second up reuses them", async () => {
    const first = await stack("up");
    expect(first.code, first.stderr).toBe(0);
    for (const server of ["postgres", "redis", "kafka", "opensearch", "smtp"])
      expect(first.stdout).toMatch(new RegExp(`^${server}\\s+started`, "m"));
    expect(first.stdout).toMatch(/^topics\s+\d+ created/m);
    expect(first.stdout).toContain("migrations applied");

    const second = await stack("up");
    expect(second.code, second.stderr).toBe(0);
    for (const server of ["postgres", "redis", "kafka", "opensearch", "smtp"])
      expect(second.stdout).toMatch(new RegExp(`^${server}\\s+already up`, "m"));
    expect(second.stdout).toMatch(/^topics\s+0 created, 0 reconfigured/m);
  }, 300_000);

  test("status shows each server with its version, port and state", async () => {
    const status = await stack("status");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^postgres\\s+running\\s+${ports.postgres}\\s+PostgreSQL \\d+`, "m"));
    expect(status.stdout).toMatch(new RegExp(`^redis\\s+running\\s+${ports.redis}\\s+Redis \\d+`, "m"));
    expect(status.stdout).toMatch(
      new RegExp(`^kafka\\s+running\\s+${ports.kafka}\\s+Apache Kafka 4\\.\\d+\\.\\d+ \\(KRaft\\)`, "m"),
    );
    expect(status.stdout).toMatch(
      new RegExp(`^opensearch\\s+running\\s+${ports.opensearch}\\s+opensearch 3\\.\\d+`, "m"),
    );
    expect(status.stdout).toMatch(new RegExp(`^smtp\\s+running\\s+${ports.smtp}\\s+cdp local mail sink`, "m"));
  });

  test("with the broker gone, POST /v1/events answers 503 with Retry-After, never 202", async () => {
    const created = await runCommand([process.execPath, "api/apikey.ts", "create", "--partner", "p1"], env, 30_000);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    const apiEnv = { ...env, PORT: "18380", INGEST_ACK_TIMEOUT_MS: "1500" };
    const api = Bun.spawn([process.execPath, "api/server.ts"], {
      cwd: join(import.meta.dir, ".."),
      env: { ...process.env, ...apiEnv },
      stdout: "ignore",
      stderr: "ignore",
    });
    const post = () =>
      fetch("http://127.0.0.1:18380/v1/events", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          event_id: `e-${Date.now()}`,
          type: "page_view",
          user_id: "u1",
          partner_id: "p1",
          occurred_at: new Date().toISOString(),
        }),
      });
    try {
      let accepted: Response | undefined;
      for (let i = 0; i < 50 && !accepted; i++) accepted = await post().catch(async () => void (await Bun.sleep(200)));
      expect(accepted?.status).toBe(202);

      const kafkaPid = Number(readFileSync(join(runtime, "pids", "kafka.pid"), "utf8"));
      process.kill(kafkaPid, "SIGKILL");
      while (isAlive(kafkaPid)) await Bun.sleep(50);

      const refused = await post();
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(((await refused.json()) as { error: string }).error).toBe("broker_unavailable");
    } finally {
      api.kill("SIGKILL");
      await api.exited;
    }
    // Bring the broker back for the next test.
    const again = await stack("up");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^kafka\s+started/m);
  }, 180_000);

  test("after down, no stack port is listening and no stack process is left", async () => {
    const pidDir = join(runtime, "pids");
    const pids = readdirSync(pidDir).map((file) => Number(readFileSync(join(pidDir, file), "utf8").trim()));
    expect(pids.length).toBe(5);
    expect(processesUsing(runtime).length).toBeGreaterThan(0);

    const down = await stack("down");
    expect(down.code).toBe(0);
    for (const server of ["postgres", "redis", "kafka", "opensearch", "smtp"])
      expect(down.stdout).toMatch(new RegExp(`^${server}\\s+stopped`, "m"));

    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(processesUsing(runtime)).toEqual([]);
    for (const [name, port] of Object.entries(ports))
      expect(await isListening(port), `${name} port ${port}`).toBe(false);
    expect(existsSync(pidDir) ? readdirSync(pidDir) : []).toEqual([]);

    const status = await stack("status");
    expect(status.stdout.match(/\bstopped\b/g)?.length).toBe(5);
  }, 120_000);
});
