import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { createSql } from "../infra/platform/clients.ts";
import { loadConfig } from "../infra/platform/config.ts";
import { Click } from "../infra/platform/contracts/commerce.ts";
import { COPY_FORMAT } from "../workers/export/csv.ts";
import { runExport } from "../workers/export/export.ts";
import { createTableSql, META_COLUMNS, qualified, tableLike, WAREHOUSE_TABLES } from "../workers/export/tables.ts";

/**
 * Warehouse load rate, its own process: export --topic into a fresh table
 * shaped like commerce.clicks'; then the baseline: the same rows written out
 * to a CSV file and COPYed from that file (streamed, as the export streams)
 * into an identical table with the same day partitions.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { topic: { type: "string" }, file: { type: "string" } },
});
const config = loadConfig();
const suffix = Date.now().toString(36);
const clicks = WAREHOUSE_TABLES.find((t) => t.schema === Click)!;
const table = tableLike(clicks, values.topic!, `bench_export_${suffix}`);
const summary = await runExport(config, { tables: [table] });
const exported = summary.tables[table.table]!;

const columns = [...table.columns.map((c) => c.name), ...META_COLUMNS].map((c) => `"${c}"`).join(", ");
// Its own connection: after a COPY TO STDOUT, postgres.js 3.4 does not answer the next query on it.
const dump = createSql(config, 1);
await pipeline(
  await dump.unsafe(`copy (select ${columns} from ${qualified(table.table)}) to stdout (${COPY_FORMAT})`).readable(),
  createWriteStream(values.file!),
);
await dump.end();
const sql = createSql(config, 2);
const baseline = tableLike(clicks, values.topic!, `bench_copy_${suffix}`);
for (const ddl of createTableSql(baseline)) await sql.unsafe(ddl);
for (const name of summary.partitionsCreated) {
  const [bounds] = await sql<
    { bound: string }[]
  >`select pg_get_expr(c.relpartbound, c.oid) as bound from pg_class c where c.relname = ${name}`;
  await sql.unsafe(
    `create table ${qualified(name.replace(table.table, baseline.table))} partition of ${qualified(baseline.table)} ${bounds!.bound}`,
  );
}
const started = performance.now();
await pipeline(
  createReadStream(values.file!),
  await sql.unsafe(`copy ${qualified(baseline.table)} (${columns}) from stdin (${COPY_FORMAT})`).writable(),
);
const copySeconds = (performance.now() - started) / 1000;
const [copied] = await sql.unsafe(`select count(*)::int as n from ${qualified(baseline.table)}`);
await sql.unsafe(
  `drop table ${qualified(table.table)}, ${qualified(baseline.table)}, ${qualified(`${table.table}_rejects`)}, ${qualified(`${baseline.table}_rejects`)}`,
);
await sql.end();
console.log(
  JSON.stringify({ rows: exported.loaded, exportSeconds: summary.seconds, copyRows: copied!.n, copySeconds }),
);
process.exit(0);
