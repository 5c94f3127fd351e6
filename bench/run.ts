import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApiKey } from "../api/http/keys.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { createSql } from "../infra/platform/clients.ts";
import { configOrExit } from "../infra/platform/config.ts";
import { ensureDatabase } from "../infra/tools/stack/postgres.ts";
import { stackUp } from "../infra/tools/stack/stack.ts";
import { dropViews, groupsInUse, keepGroupPositions } from "../infra/tools/views.ts";
import { benchChart } from "./lib/chart.ts";
import { type Bench, groupTools } from "./lib/context.ts";
import { benchConfig, benchEnv, profileSystemTo, ROOT, spawnBun, waitHttp } from "./lib/harness.ts";
import { attributionScenarios } from "./scenarios/attribution.ts";
import { clientScenario } from "./scenarios/client.ts";
import { exportScenario } from "./scenarios/export.ts";
import { freshnessScenario } from "./scenarios/freshness.ts";
import { identityScenario } from "./scenarios/identity.ts";
import { ingestScenario } from "./scenarios/ingest.ts";
import { instancesScenario } from "./scenarios/instances.ts";
import { lookupScenario } from "./scenarios/lookup.ts";
import { personalizationScenarios } from "./scenarios/personalization.ts";
import { userInfoScenarios } from "./scenarios/userinfo.ts";
import { welcomeScenarios } from "./scenarios/welcome.ts";

/**
 * `bun run bench [client] [ingest] [freshness] [lookup] [users] [updates] [rebuild] [attribution] [welcome] [export] [personalization] [instances] [identity] [--quick] [--profile]`: SPEC §6 figures,
 * each beside its baseline measured in the same run, printed as a table and
 * written to bench/results/<time>.json, with a chart beside it (<time>.svg).
 * Every load runs as its own process; each scenario is a file of
 * bench/scenarios. With --profile, worker, API and export processes write CPU profiles
 * (Markdown) to bench/results/profiles-<time>/.
 */

const args = process.argv.slice(2);
const chosen = args.filter((a) => !a.startsWith("--"));
const base = configOrExit();
const startedAt = new Date().toISOString().replaceAll(":", "-");
if (args.includes("--profile")) profileSystemTo(join(ROOT, "bench", "results", `profiles-${startedAt}`));
const env = benchEnv(base);
const config = benchConfig(env);
const partner = "bench-partner";

await stackUp(base, () => {});
await ensureDatabase(config.DATABASE_URL);
await migrateDatabase(config.DATABASE_URL);
const inUse = await groupsInUse(config);
if (inUse.length > 0) {
  console.error(
    `bench: ${inUse.join(", ")} ${inUse.length === 1 ? "has" : "have"} members: another bench run (or workers started with the bench's settings) is using the bench's topics and views. Let it finish or stop it, then run again (a member of a run that died leaves within WORKER_SESSION_TIMEOUT_MS).`,
  );
  process.exit(1);
}
await dropViews(config);
// The bench's groups go on from where they were, with empty views (not restored from the topics' history).
await keepGroupPositions(config);
const sql = createSql(config, 1);
const { key } = await createApiKey(drizzle(sql), partner, ["admin"]);
await sql.end();

const api = spawnBun(["api/server.ts"], env);
const bench: Bench = {
  quick: args.includes("--quick"),
  wanted: (name) => chosen.length === 0 || chosen.includes(name),
  base,
  env,
  config,
  api: `http://127.0.0.1:${config.PORT}`,
  apiPid: api.process.pid,
  partner,
  key,
  children: [api],
  rows: [],
  chart: [],
  report: {},
  tools: groupTools(config),
};
const { wanted, children, rows, report } = bench;

try {
  await waitHttp(`${bench.api}/healthz`);
  if (wanted("client")) await clientScenario(bench);
  if (wanted("ingest")) await ingestScenario(bench);
  if (wanted("freshness") || wanted("lookup")) {
    const profiles = spawnBun(["workers/main.ts", "profiles"], env);
    children.push(profiles);
    const foldRate = await bench.tools.waitCaughtUp("profile worker catching up");
    report.workerCatchUpEventsPerSecond = foldRate;
    if (foldRate > 0)
      rows.push({ figure: "profile worker catch-up events/s", value: foldRate.toFixed(0), baseline: "-", ratio: "-" });
    if (wanted("freshness")) await freshnessScenario(bench);
    if (wanted("lookup")) await lookupScenario(bench);
    // Its group is the identity scenario's to move.
    await profiles.stop();
    children.splice(children.indexOf(profiles), 1);
  }
  if (wanted("users") || wanted("updates") || wanted("rebuild")) await userInfoScenarios(bench);
  if (wanted("attribution")) await attributionScenarios(bench);
  if (wanted("welcome")) await welcomeScenarios(bench);
  if (wanted("export")) await exportScenario(bench);
  if (wanted("personalization")) await personalizationScenarios(bench);
  if (wanted("instances")) await instancesScenario(bench);
  if (wanted("identity")) await identityScenario(bench);
} finally {
  await Promise.all(children.map((c) => c.stop()));
}

const machine = {
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  bun: Bun.version,
};
const at = new Date().toISOString();
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
const file = join(ROOT, "bench", "results", `${at.replaceAll(":", "-")}.json`);
const chartFile = file.replace(/\.json$/, ".svg");
writeFileSync(
  chartFile,
  benchChart(
    bench.chart,
    `bun run bench${bench.quick ? " --quick" : ""}, ${at}: ${machine.cores} cores, Bun ${machine.bun} (blue: the figure; grey: its baseline in the same run; red: the target)`,
  ),
);
writeFileSync(file, JSON.stringify({ at, machine, quick: bench.quick, chart: chartFile, ...report }, null, 2));

const widths = [38, 52, 60];
console.log(
  `\n${machine.cores} cores, ${machine.cpu}, ${machine.memoryGiB} GiB, Bun ${machine.bun}${bench.quick ? " (quick run)" : ""}`,
);
console.log(
  ["figure".padEnd(widths[0]!), "value".padEnd(widths[1]!), "baseline (same run)".padEnd(widths[2]!), "ratio"].join(
    " | ",
  ),
);
for (const r of rows)
  console.log(
    [r.figure.padEnd(widths[0]!), r.value.padEnd(widths[1]!), r.baseline.padEnd(widths[2]!), r.ratio].join(" | "),
  );
console.log(`\nreport: ${file}\nchart: ${chartFile}`);
process.exit(0);
