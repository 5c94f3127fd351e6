import { parseArgs } from "node:util";
import { Cron } from "croner";
import { configOrExit } from "../../infra/platform/config.ts";
import { serveStatus } from "../runtime/status.ts";
import { ExportBusy, runExport } from "./export.ts";
import { describeSummary, progressReporter } from "./progress.ts";
import { WAREHOUSE_TABLES } from "./tables.ts";

const usage = `usage: bun run export [topics...] [--schedule "<cron>"] [--json]
  load the raw topics (default: ${WAREHOUSE_TABLES.map((t) => t.topic).join(", ")})
  into day-partitioned tables of the Postgres schema "warehouse", from where the last run stopped.
  --schedule  keep running and start a run at every tick (5 or 6 fields, seconds first when 6);
              a tick that comes while a run is still going is skipped
  --json      print the summary as one JSON line`;

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: {
    schedule: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  allowPositionals: true,
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const unknown = positionals.filter((topic) => !WAREHOUSE_TABLES.some((t) => t.topic === topic));
if (unknown.length > 0) {
  console.error(`unknown topic(s): ${unknown.join(", ")}\n${usage}`);
  process.exit(2);
}
const config = configOrExit();
const tables = positionals.length > 0 ? WAREHOUSE_TABLES.filter((t) => positionals.includes(t.topic)) : undefined;

async function once(): Promise<boolean> {
  try {
    const summary = await runExport(config, { tables, onProgress: values.json ? undefined : progressReporter() });
    console.log(values.json ? JSON.stringify(summary) : describeSummary(summary));
    return true;
  } catch (error) {
    console.error(
      error instanceof ExportBusy ? `export skipped: ${error.message}` : `export failed: ${(error as Error).message}`,
    );
    return false;
  }
}

if (!values.schedule) process.exit((await once()) ? 0 : 1);

let job: Cron;
try {
  // protect: a tick never starts a run while the previous one is going.
  job = new Cron(
    values.schedule,
    {
      protect: (skipped) =>
        console.error(`export: tick at ${skipped.currentRun()?.toISOString()} skipped, a run is still going`),
    },
    async () => {
      console.log(`export run at ${new Date().toISOString()}`);
      await once();
    },
  );
} catch (error) {
  console.error(`--schedule: ${(error as Error).message}\n${usage}`);
  process.exit(2);
}
console.log(`export scheduled "${values.schedule}", next run ${job.nextRun()?.toISOString()}; Ctrl-C to stop`);
// A scheduled export is a long-running process: its /metrics (rows loaded, last success) for Prometheus.
if (config.EXPORT_METRICS_PORT !== 0) {
  const server = serveStatus([], config.EXPORT_METRICS_PORT, config.WORKER_STATUS_HOST);
  console.log(`export metrics on http://${config.WORKER_STATUS_HOST}:${server.port}/metrics`);
}
const stop = () => {
  job.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
