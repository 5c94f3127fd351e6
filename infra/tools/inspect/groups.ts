import { parseArgs } from "node:util";
import { configOrExit } from "../../platform/config.ts";
import { describeGroups, resetGroup } from "../../platform/kafka/inspect.ts";
import { print, table } from "./table.ts";

const usage = `usage: bun run groups [GROUP...] [--json]
       bun run groups GROUP --reset earliest|latest|ISO-TIME --topic TOPIC   (a stopped group only)`;
const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { json: { type: "boolean" }, reset: { type: "string" }, topic: { type: "string" } },
  allowPositionals: true,
});
const config = configOrExit();

if (values.reset !== undefined) {
  const to = values.reset === "earliest" || values.reset === "latest" ? values.reset : new Date(values.reset);
  if (positionals.length !== 1 || !values.topic || (to instanceof Date && Number.isNaN(to.getTime()))) {
    console.error(usage);
    process.exit(2);
  }
  try {
    const moved = await resetGroup(config, positionals[0]!, values.topic, to);
    print(values.json === true, moved, (rows) =>
      table(
        ["topic", "partition", "committed", "high", "lag"],
        rows.map((o) => [o.topic, o.partition, o.committed, o.high, o.lag]),
      ),
    );
    process.exit(0);
  } catch (error) {
    console.error(`groups --reset: ${(error as Error).message}`);
    process.exit(1);
  }
}

const groups = await describeGroups(config, positionals.length > 0 ? positionals : undefined);
print(values.json === true, groups, (all) => {
  const summary = table(
    ["group", "state", "members", "lag"],
    all.map((g) => [g.groupId, g.state, g.members.length, g.lag]),
  );
  if (positionals.length === 0) return summary;
  const partitions = all.flatMap((g) =>
    g.offsets.map((o) => {
      const owner = g.members.find((m) => m.assignment[o.topic]?.includes(o.partition));
      return [
        g.groupId,
        o.topic,
        o.partition,
        o.committed,
        o.high,
        o.lag,
        owner ? `${owner.clientId} ${owner.host}` : null,
      ];
    }),
  );
  return `${summary}\n\n${table(["group", "topic", "partition", "committed", "high", "lag", "member"], partitions)}`;
});
process.exit(0);
