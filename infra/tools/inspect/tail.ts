import { parseArgs } from "node:util";
import { configOrExit } from "../../platform/config.ts";
import { type InspectedRecord, readRecords } from "../../platform/kafka/inspect.ts";

const usage =
  "usage: bun run tail TOPIC [--from earliest|latest|ISO-TIME] [--partition N] [--key K] [--grep TEXT] [--limit N] [--follow] [--json]";
const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: {
    from: { type: "string" },
    partition: { type: "string" },
    key: { type: "string" },
    grep: { type: "string" },
    limit: { type: "string" },
    follow: { type: "boolean" },
    json: { type: "boolean" },
  },
  allowPositionals: true,
});
const from =
  values.from === undefined || values.from === "earliest" || values.from === "latest"
    ? values.from
    : new Date(values.from);
const limit = values.limit === undefined ? undefined : Number(values.limit);
const partition = values.partition === undefined ? undefined : Number(values.partition);
if (
  positionals.length !== 1 ||
  (from instanceof Date && Number.isNaN(from.getTime())) ||
  (limit !== undefined && !(limit > 0)) ||
  (partition !== undefined && !(partition >= 0))
) {
  console.error(usage);
  process.exit(2);
}
const config = configOrExit();

/** One line per record: where, when, key, the value, and whether it passes its topic's contract. */
const human = (r: InspectedRecord) =>
  `${r.partition}:${r.offset}  ${r.timestamp}  key=${r.key ?? "-"}  ${r.invalid ? `INVALID (${r.invalid})  ` : ""}${r.text ?? "(null)"}`;

const stop = new AbortController();
process.on("SIGINT", () => stop.abort());
const shown = await readRecords(
  config,
  positionals[0]!,
  { from, partition, key: values.key, text: values.grep, limit, follow: values.follow, signal: stop.signal },
  (record) => console.log(values.json ? JSON.stringify(record) : human(record)),
).catch((error: Error) => {
  console.error(`tail ${positionals[0]}: ${error.message}`);
  process.exit(1);
});
if (!values.json) console.error(`${shown} record(s)`);
process.exit(0);
