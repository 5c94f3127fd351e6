import { configOrExit, type Config } from "../infra/config.ts";
import { WORKERS } from "./registry.ts";
import { startStatus } from "./status.ts";
import { runWorker, stopOnSignals, type Running } from "./runner.ts";

/** Start the named workers (all when none are named) in this process. */
export async function startWorkers(config: Config, names: string[]): Promise<Running[]> {
  const unknown = names.filter((n) => !(n in WORKERS));
  if (unknown.length > 0) {
    throw new Error(`unknown worker(s): ${unknown.join(", ")}; known: ${Object.keys(WORKERS).join(", ") || "none yet"}`);
  }
  const missing = (name: string) => (WORKERS[name]!.requires ?? []).filter((setting) => !config[setting]);
  for (const name of names) {
    if (missing(name).length > 0) throw new Error(`worker ${name} needs ${missing(name).join(", ")}; set it in the environment or .env`);
  }
  const selected = names.length > 0 ? names : Object.keys(WORKERS).filter((name) => {
    if (missing(name).length === 0) return true;
    console.log(`worker ${name} not started: ${missing(name).join(", ")} is not set`);
    return false;
  });
  return Promise.all(
    selected.map((name) => {
      const entry = WORKERS[name]!;
      return "start" in entry ? entry.start(config) : runWorker(entry.create(config), config);
    }),
  );
}

if (import.meta.main) {
  const config = configOrExit();
  const running = await startWorkers(config, process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(2);
  });
  if (running.length === 0) {
    console.log("no workers are registered yet (workers/registry.ts)");
    process.exit(0);
  }
  await startStatus(running, config);
  stopOnSignals(running);
}
