import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { dailyReport, NoWarehouseData } from "../../../db/report.ts";
import { createSql } from "../../platform/clients.ts";
import { configOrExit } from "../../platform/config.ts";
import { Day } from "../../platform/contracts/fields.ts";
import { runtimePath } from "../stack/paths.ts";
import { reportChart } from "./chart.ts";

const usage = `usage: bun run report [--day YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD] [--partner ID] [--chart FILE.svg] [--json]
  sessions, users (people, linked identifiers once), new users, purchases and revenue per partner per day,
  from the warehouse (run \`bun run export\` first); every day it holds unless a day or range is given`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    day: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    partner: { type: "string" },
    chart: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const fail = (message: string): never => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};
for (const option of ["day", "from", "to"] as const) {
  const value = values[option];
  if (value !== undefined && !v.is(Day, value)) fail(`--${option}: expected a real day as YYYY-MM-DD, got ${value}`);
}
if (values.day && (values.from || values.to)) fail("--day or --from/--to, not both");
const from = values.day ?? values.from;
const to = values.day ?? values.to;

const config = configOrExit();
const sql = createSql(config, 1);
try {
  const rows = await dailyReport(sql, { from, to, partner: values.partner });
  if (values.json) console.log(JSON.stringify(rows));
  else {
    const header = ["day", "partner", "sessions", "users", "new users", "purchases", "revenue"];
    const lines = rows.map((r) => [
      r.day,
      r.partner_id,
      String(r.sessions),
      String(r.users),
      String(r.new_users),
      String(r.purchases),
      r.revenue.toFixed(2),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    for (const line of [header, ...lines])
      console.log(line.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
    if (rows.length === 0) console.log("(no clickstream rows in that range)");
  }
  const [first, last] = [from ?? rows[0]?.day ?? "-", to ?? rows.at(-1)?.day ?? "-"];
  const range = first === last ? first : `${first}..${last}`;
  const chart = values.chart ?? runtimePath("reports", `daily-${range.replace("..", "_")}.svg`);
  mkdirSync(dirname(chart), { recursive: true });
  await Bun.write(
    chart,
    reportChart(rows, `Daily report ${range}${values.partner ? `, partner ${values.partner}` : ""}`),
  );
  console.error(`chart: ${chart}`);
} catch (error) {
  if (error instanceof NoWarehouseData) fail(error.message);
  throw error;
} finally {
  await sql.end({ timeout: 5 });
}
