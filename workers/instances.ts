import type { Subprocess } from "bun";
import type { Config } from "../infra/platform/config.ts";
import { EXIT_HALTED, EXIT_SETTINGS } from "./runtime/exits.ts";

/** After a crash, how long before the instance is started again (what a supervisor would wait). */
const RESTART_AFTER_MS = 1000;

/** Exit codes that a restart cannot fix; an uncaught error (1) or a signal is restarted. */
const FINAL_EXITS = new Set([EXIT_SETTINGS, EXIT_HALTED]);

/**
 * `bun run workers NAMES --instances N`: N processes of the same workers,
 * members of the same consumer groups, sharing the partitions. Instance i
 * (from 1) is client `<KAFKA_CLIENT_ID>-<i>` and serves its status on
 * WORKER_STATUS_PORT + i - 1 (none when 0). SIGTERM or SIGINT stops them all
 * (each finishes its batch and commits); an instance that crashes is started
 * again after a second, its partitions going to the others meanwhile (an
 * uncaught error included); one that exits with a setting error or with
 * every fold halted stops them all with that code, as a restart would end
 * the same way.
 */
export function runInstances(config: Config, names: readonly string[], instances: number): void {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const children = new Map<number, Subprocess>();
  let stopping = false;

  const start = (instance: number) => {
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
      process.stderr.write(
        `instance ${instance} ended (${child.signalCode ?? `exit ${code}`}); its partitions go to the others; starting it again in ${RESTART_AFTER_MS} ms\n`,
      );
      setTimeout(() => {
        if (!stopping) start(instance);
      }, RESTART_AFTER_MS);
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
