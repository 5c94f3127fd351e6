import { afterAll, describe, expect, test } from "bun:test";
import { listeningPids } from "../infra/tools/stack/net.ts";
import { eventually, ROOT } from "./helpers.ts";

/**
 * `bun run api` with API_PROCESSES=3: three processes listen on one port
 * (SO_REUSEPORT), on HOST; they stop together, and one dying stops the rest
 * (for a supervisor to restart them), never leaving a smaller API running,
 * and a parent gone even by SIGKILL leaves no child serving the port.
 */
const port = 19_900 + Math.floor(Math.random() * 90);
const spawned: ReturnType<typeof Bun.spawn>[] = [];
afterAll(() => {
  for (const p of spawned) p.kill("SIGKILL");
});

function startApiProcesses() {
  const parent = Bun.spawn([process.execPath, "api/server.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), API_PROCESSES: "3", HOST: "127.0.0.1", LOG_LEVEL: "warn" },
    stdout: "inherit",
    stderr: "inherit",
  });
  spawned.push(parent);
  return parent;
}

const listeners = () => listeningPids(port);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("API_PROCESSES", () => {
  test("three processes share the port and stop together on SIGTERM", async () => {
    const parent = startApiProcesses();
    const pids = await eventually("three listeners on the port", async () => {
      const found = await listeners();
      return found.length === 3 ? found : undefined;
    });
    expect(pids).toContain(parent.pid);
    for (let i = 0; i < 30; i++) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    parent.kill("SIGTERM");
    expect(await parent.exited).toBe(0);
    await eventually("every API process gone", async () => pids.every((pid) => !alive(pid)));
  }, 60_000);

  test("the parent killed with SIGKILL takes its children with it (none goes on serving the port alone)", async () => {
    const parent = startApiProcesses();
    const pids = await eventually("three listeners on the port", async () => {
      const found = await listeners();
      return found.length === 3 ? found : undefined;
    });
    const children = pids.filter((pid) => pid !== parent.pid);
    expect(children).toHaveLength(2);
    parent.kill("SIGKILL");
    await parent.exited;
    await eventually("both children gone", async () => children.every((pid) => !alive(pid)), 10_000);
    expect(await listeners()).toEqual([]);
  }, 60_000);

  test("one process killed stops the others, with exit code 1", async () => {
    const parent = startApiProcesses();
    const pids = await eventually("three listeners on the port", async () => {
      const found = await listeners();
      return found.length === 3 ? found : undefined;
    });
    const child = pids.find((pid) => pid !== parent.pid) as number;
    process.kill(child, "SIGKILL");
    expect(await parent.exited).toBe(1);
    await eventually("every API process gone", async () => pids.every((pid) => !alive(pid)));
  }, 60_000);
});
