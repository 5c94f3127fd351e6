import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { listeningPids } from "../infra/tools/stack/net.ts";
import { tcpProxy, throughProxy } from "./fixtures/tcp-proxy.ts";
import { eventually, ROOT, runCommand, testConfig } from "./helpers.ts";

/**
 * `bun run workers NAME --instances N`: N processes, each with its own
 * client id and status port (WORKER_STATUS_PORT + i); one that dies is
 * started again; SIGTERM stops them all and leaves none behind.
 */
const port = 19_700 + Math.floor(Math.random() * 90);
const spawned: ReturnType<typeof Bun.spawn>[] = [];
afterAll(() => {
  for (const p of spawned) p.kill("SIGKILL");
});

/** The pid listening on a port, if any. */
const listener = async (on: number): Promise<number | undefined> => (await listeningPids(on))[0];

const status = async (on: number) =>
  (await fetch(`http://127.0.0.1:${on}/status`).then((r) => r.json())) as { workers: Record<string, unknown> };

describe("bun run workers --instances", () => {
  test("two processes with their own status ports; a killed one comes back; SIGTERM stops both", async () => {
    const parent = Bun.spawn([process.execPath, "workers/main.ts", "profiles", "--instances", "2"], {
      cwd: ROOT,
      env: { ...process.env, WORKER_STATUS_PORT: String(port), WORKER_SESSION_TIMEOUT_MS: "6000" },
      stdout: "inherit",
      stderr: "inherit",
    });
    spawned.push(parent);
    const ports = [port, port + 1];
    const pids = await eventually("both instances to serve their status", async () => {
      const found = await Promise.all(ports.map(listener));
      if (found.some((pid) => pid === undefined)) return undefined;
      for (const on of ports) expect(Object.keys((await status(on)).workers)).toEqual(["profiles"]);
      return found as number[];
    });
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(parent.pid);

    process.kill(pids[0]!, "SIGKILL");
    const restarted = await eventually("the killed instance to be started again", async () => {
      const pid = await listener(port);
      return pid !== undefined && pid !== pids[0] ? pid : undefined;
    });
    expect(Object.keys((await status(port)).workers)).toEqual(["profiles"]);
    expect(await listener(port + 1)).toBe(pids[1]!);

    parent.kill("SIGTERM");
    expect(await parent.exited).toBe(0);
    for (const pid of [restarted, pids[1]!]) expect(() => process.kill(pid, 0)).toThrow();
    expect(await Promise.all(ports.map(listener))).toEqual([undefined, undefined]);
  }, 120_000);

  test("an instance that dies of an uncaught error (exit 1) is started again, not taken for a final exit", async () => {
    const marker = `${tmpdir()}/crash-once-${process.pid}-${Date.now()}`;
    const parent = Bun.spawn([process.execPath, "workers/main.ts", "profiles", "--instances", "2"], {
      cwd: ROOT,
      env: {
        ...process.env,
        WORKER_STATUS_PORT: String(port + 2),
        WORKER_SESSION_TIMEOUT_MS: "6000",
        BUN_OPTIONS: `--preload ${ROOT}/test/fixtures/crash-once.ts`,
        CRASH_ONCE_MARKER: marker,
      },
      stdout: "inherit",
      stderr: "pipe",
    });
    spawned.push(parent);
    const log = new Response(parent.stderr).text();
    const crashed = await eventually("the first instance to crash", async () =>
      existsSync(marker) ? Number(readFileSync(marker, "utf8")) : undefined,
    );
    const restarted = await eventually("the crashed instance to serve its status again", async () => {
      const pid = await listener(port + 2);
      return pid !== undefined && pid !== crashed ? pid : undefined;
    });
    expect(Object.keys((await status(port + 2)).workers)).toEqual(["profiles"]);
    expect(await listener(port + 3)).toBeNumber();
    expect(parent.exitCode).toBeNull();

    parent.kill("SIGTERM");
    expect(await parent.exited).toBe(0);
    expect(() => process.kill(restarted, 0)).toThrow();
    const stderr = await log;
    expect(stderr).toContain("instance 1 ended (exit 1)");
    expect(stderr).not.toContain("stopping all instances");
  }, 120_000);

  test("a store that does not answer at start is a crash (exit 1), restarted (ever later) until it answers, not a setting error", async () => {
    const database = testConfig().DATABASE_URL;
    const proxy = tcpProxy(database, port + 6);
    const env = { DATABASE_URL: throughProxy(database, proxy.port), WORKER_SESSION_TIMEOUT_MS: "6000" };
    try {
      const alone = await runCommand([process.execPath, "workers/main.ts", "attributed-checkouts"], {
        ...env,
        WORKER_STATUS_PORT: "0",
      });
      expect(alone.code).toBe(1);
      expect(alone.stderr).toContain("worker attributed-checkouts: its state store failed at start-up (");

      const parent = Bun.spawn([process.execPath, "workers/main.ts", "attributed-checkouts", "--instances", "2"], {
        cwd: ROOT,
        env: { ...process.env, ...env, WORKER_STATUS_PORT: String(port + 4) },
        stdout: "inherit",
        stderr: "pipe",
      });
      spawned.push(parent);
      let stderr = "";
      void (async () => {
        for await (const chunk of parent.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
      })();
      await eventually("both instances to fail to start, and be started again", async () =>
        (stderr.match(/ended \(exit 1\); its partitions go to the others; starting it again/g) ?? []).length >= 4
          ? true
          : undefined,
      );
      expect(parent.exitCode).toBeNull();
      // Crashing again and again, an instance waits longer each time (1 s, then 2 s, ...).
      for (const instance of [1, 2])
        for (const ms of [1000, 2000])
          expect(stderr).toContain(
            `instance ${instance} ended (exit 1); its partitions go to the others; starting it again in ${ms} ms`,
          );
      proxy.up();
      await eventually("both instances to serve their status once the store answers", async () => {
        if ((await Promise.all([port + 4, port + 5].map(listener))).includes(undefined)) return undefined;
        for (const on of [port + 4, port + 5])
          expect(Object.keys((await status(on)).workers)).toEqual(["attributed-checkouts"]);
        return true;
      });
      parent.kill("SIGTERM");
      expect(await parent.exited).toBe(0);
      expect(stderr).not.toContain("stopping all instances");
    } finally {
      proxy.down();
    }
  }, 120_000);

  test("a bad instance count or worker name stops with a message saying which", async () => {
    const zero = await runCommand([process.execPath, "workers/main.ts", "profiles", "--instances", "0"]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("--instances: expected a whole number from 1 to 64, got 0");
    const unknown = await runCommand([process.execPath, "workers/main.ts", "profilez", "--instances", "2"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown worker(s): profilez");
  });
});
