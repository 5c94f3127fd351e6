import type { Subprocess } from "bun";
import type { Config } from "../infra/platform/config.ts";
import { EXIT_HALTED, EXIT_SETTINGS } from "./runtime/exits.ts";

/**
 * After a crash, how long before the instance is started again: 1 s, then
 * doubled for each crash in a row (a store down at start-up fails every
 * start until it is back) up to 30 s, and 1 s again after an instance that
 * had run 30 s (what systemd or a CrashLoopBackOff would do).
 */
const RESTART = { firstMs: 1000, maxMs: 30_000, stableAfterMs: 30_000 };

/** Exit codes that a restart cannot fix; an uncaught error (1) or a signal is restarted. */
const FINAL_EXITS = new Set([EXIT_SETTINGS, EXIT_HALTED]);

/**
 * `bun run workers NAMES --instances N`: N processes of the same workers,
 * members of the same consumer groups, sharing the partitions. Instance i
 * (from 1) is client `<KAFKA_CLIENT_ID>-<i>` and serves its status on
 * WORKER_STATUS_PORT + i - 1 (none when 0). SIGTERM or SIGINT stops them all
 * (each finishes its batch and commits); an instance that crashes is started
 * again (after 1 s, longer while it keeps crashing), its partitions going
 * to the others meanwhile (an uncaught error included); one that exits with
 * a setting error or with every fold halted stops them all with that code,
 * as a restart would end the same way.
 */
export function runInstances(config: Config, names: readonly string[], instances: number): void {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const children = new Map<number, Subprocess>();
  const restartAfter = new Map<number, number>();
  let stopping = false;

  const start = (instance: number) => {
    const startedAt = Date.now();
    const child = Bun.spawn([process.execPath, main, ...names], {
      env: {
        ...process.env,
        KAFKA_CLIENT_ID: `${config.KAFKA_CLIENT_ID}-${instance}`,
        WORKER_STATUS_PORT: String(config.WORKER_STATUS_PORT === 0 ? 0 : config.WORKER_STATUS_PORT + instance - 1),
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.set(instance, child);
    void child.exited.then((code) => {
      if (children.get(instance) !== child) return;
      children.delete(instance);
      if (stopping) {
        if (children.size === 0) process.exit(0);
        return;
      }
      if (FINAL_EXITS.has(code)) {
        process.stderr.write(`instance ${instance} exited ${code}: stopping all instances\n`);
        stopAll(code);
        return;
      }
      const previous = restartAfter.get(instance);
      const delay =
        previous === undefined || Date.now() - startedAt >= RESTART.stableAfterMs
          ? RESTART.firstMs
          : Math.min(previous * 2, RESTART.maxMs);
      restartAfter.set(instance, delay);
      process.stderr.write(
        `instance ${instance} ended (${child.signalCode ?? `exit ${code}`}); its partitions go to the others; starting it again in ${delay} ms\n`,
      );
      setTimeout(() => {
        if (!stopping) start(instance);
      }, delay);
    });
  };

  const stopAll = (exitCode: number) => {
    stopping = true;
    if (children.size === 0) process.exit(exitCode);
    for (const child of children.values()) child.kill("SIGTERM");
    void Promise.all([...children.values()].map((child) => child.exited)).then(() => process.exit(exitCode));
  };

  for (let instance = 1; instance <= instances; instance++) start(instance);
  console.log(
    `${instances} instances of ${names.length > 0 ? names.join(", ") : "every worker"} (each worker's consumer group shared by all of them)`,
  );
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => stopAll(0));
}
