import { parseArgs } from "node:util";
import { configOrExit } from "../../platform/config.ts";
import { describeTopics } from "../../platform/kafka/inspect.ts";
import { bytes, print, table } from "./table.ts";

/** `bun run topics [TOPIC...] [--json]`: every topic, or the named ones with their partitions. */
const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { json: { type: "boolean" } },
  allowPositionals: true,
});
const config = configOrExit();
const topics = await describeTopics(config, positionals.length > 0 ? positionals : undefined);
print(values.json === true, topics, (all) => {
  const summary = table(
    ["topic", "partitions", "replicas", "cleanup", "retention.ms", "records", "size", "read by", "contract"],
    all.map((t) => [
      t.name,
      t.partitions.length,
      t.replication,
      t.configs.cleanupPolicy,
      t.configs.retentionMs,
      t.records,
      bytes(t.bytes),
      t.readBy.join(",") || null,
      t.contract,
    ]),
  );
  if (positionals.length === 0) return summary;
  const partitions = all.flatMap((t) =>
    t.partitions.map((p) => [
      t.name,
      p.partition,
      p.leader,
      p.replicas.join(","),
      p.isr.join(","),
      p.low,
      p.high,
      bytes(p.bytes),
    ]),
  );
  return `${summary}\n\n${table(["topic", "partition", "leader", "replicas", "isr", "low", "high", "size"], partitions)}`;
});
process.exit(0);
