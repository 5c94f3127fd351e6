import { type Config, ConfigError, configOrExit } from "../infra/platform/config.ts";
import { WORKERS, type WorkerName } from "../infra/platform/topology.ts";
import { describeMermaid, describeText } from "./describe.ts";
import { runInstances } from "./instances.ts";
import { WORKER_ENTRIES } from "./registry.ts";
import { EXIT_HALTED, EXIT_SETTINGS } from "./runtime/exits.ts";
import { type Running, type RunningWorker, runWorker, stopOnSignals } from "./runtime/runner.ts";
import { publishStatus, startStatus } from "./runtime/status.ts";

/**
 * Start the named workers (all when none are named) in this process. With
 * `exitWhenHalted`, once every fold in it has stopped itself (its log is not
 * its view's), the process exits EXIT_HALTED (3), so a supervisor sees it; the log said
 * why. (`bun run start` keeps serving the API and the status instead.)
 */
export async function startWorkers(
  config: Config,
  names: string[],
  { exitWhenHalted = false } = {},
): Promise<Running[]> {
  const unknown = names.filter((n) => !(n in WORKERS));
  if (unknown.length > 0)
    throw new ConfigError([`unknown worker(s): ${unknown.join(", ")}; known: ${Object.keys(WORKERS).join(", ")}`]);
  const missing = (name: WorkerName) => (WORKER_ENTRIES[name]!.requires ?? []).filter((setting) => !config[setting]);
  const unmet = (names as WorkerName[]).filter((name) => missing(name).length > 0);
  if (unmet.length > 0)
    throw new ConfigError(
      unmet.map((name) => `worker ${name} needs ${missing(name).join(", ")}; set it in the environment or .env`),
    );
  const selected =
    names.length > 0
      ? (names as WorkerName[])
      : (Object.keys(WORKER_ENTRIES) as WorkerName[]).filter((name) => {
          if (missing(name).length === 0) return true;
          console.log(`worker ${name} not started: ${missing(name).join(", ")} is not set`);
          return false;
        });
  const folds: RunningWorker[] = [];
  const onHalt = () => {
    if (exitWhenHalted && folds.every((w) => w.stats.state === "stopped"))
      setTimeout(() => process.exit(EXIT_HALTED), 2000);
  };
  return Promise.all(
    selected.map(async (name) => {
      const entry = WORKER_ENTRIES[name]!;
      if ("start" in entry) return entry.start(config);
      const running = await runWorker(entry.create(config), config, { hooks: { onHalt } });
      folds.push(running);
      return running;
    }),
  );
}

if (import.meta.main && process.argv.includes("--describe")) {
  console.log(`${describeText()}\n\n\`\`\`mermaid\n${describeMermaid()}\n\`\`\``);
} else if (import.meta.main) {
  const config = configOrExit();
  const { names, instances } = parseWorkerArgs(process.argv.slice(2));
  const unknown = names.filter((name) => !(name in WORKERS));
  if (unknown.length > 0) {
    console.error(`unknown worker(s): ${unknown.join(", ")}; known: ${Object.keys(WORKERS).join(", ")}`);
    process.exit(EXIT_SETTINGS);
  }
  if (instances > 1) {
    runInstances(config, names, instances);
  } else {
    await runHere(config, names);
  }
}

/** Worker names, and `--instances N` (how many processes share their partitions; 1 by default). */
function parseWorkerArgs(args: string[]): { names: string[]; instances: number } {
  const at = args.indexOf("--instances");
  if (at === -1) return { names: args, instances: 1 };
  const instances = Number(args[at + 1]);
  if (!Number.isInteger(instances) || instances < 1 || instances > 64) {
    console.error(`--instances: expected a whole number from 1 to 64, got ${args[at + 1] ?? "nothing"}`);
    process.exit(EXIT_SETTINGS);
  }
  return { names: args.filter((_, i) => i !== at && i !== at + 1), instances };
}

/** The named workers in this process, until a signal stops them. */
async function runHere(config: Config, names: string[]) {
  // A signal while the workers start (a supervisor stopping an instance that is still joining) stops them once started.
  let signalled: string | undefined;
  const early = (signal: string) => {
    signalled = signal;
  };
  process.on("SIGTERM", early);
  process.on("SIGINT", early);
  // A wrong setting would fail the same way again; anything else (a store or the broker not
  // answering yet) is a crash that a supervisor's restart may heal.
  const running = await startWorkers(config, names, { exitWhenHalted: true }).catch((error: Error) => {
    console.error(error instanceof ConfigError ? error.message : `the workers could not start: ${error.message}`);
    process.exit(error instanceof ConfigError ? EXIT_SETTINGS : 1);
  });
  process.off("SIGTERM", early);
  process.off("SIGINT", early);
  if (running.length === 0) {
    console.log("no worker could start: each one needs a setting that is not set (see above)");
    process.exit(0);
  }
  await startStatus(running, config);
  const unpublish = publishStatus(running, config);
  const shutdown = stopOnSignals(running, async () => unpublish());
  if (signalled) await shutdown(signalled);
}
