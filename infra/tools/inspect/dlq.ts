import { parseArgs } from "node:util";
import { configOrExit } from "../../platform/config.ts";
import { type DeadLetter, listDeadLetters, replayDeadLetters } from "../../platform/kafka/dead-letters.ts";
import { print, table } from "./table.ts";

const usage = `usage: bun run dlq list [DLQ_TOPIC] [--limit N] [--json]
       bun run dlq replay DLQ_TOPIC (--all | PARTITION:OFFSET...)   send them back to their source topic`;
const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { json: { type: "boolean" }, all: { type: "boolean" }, limit: { type: "string" } },
  allowPositionals: true,
});
const [command, topic, ...picks] = positionals;
const rows = (letters: DeadLetter[]) =>
  table(
    ["dlq", "at", "source", "worker", "key", "reason"],
    letters.map((d) => [
      d.topic,
      `${d.partition}:${d.offset}`,
      `${d.source.topic}${d.source.partition === null ? "" : `[${d.source.partition}]@${d.source.offset}`}`,
      d.worker,
      d.key,
      d.reason,
    ]),
  );
const config = configOrExit();
try {
  if (command === "list") {
    print(
      values.json === true,
      await listDeadLetters(config, { topic, limit: values.limit ? Number(values.limit) : undefined }),
      rows,
    );
  } else if (command === "replay" && topic && (values.all || picks.length > 0)) {
    const which = values.all
      ? "all"
      : picks.map((pick) => {
          const [partition, offset] = pick.split(":");
          if (!/^\d+$/.test(partition ?? "") || !/^\d+$/.test(offset ?? ""))
            throw new Error(`not PARTITION:OFFSET: ${pick}`);
          return { partition: Number(partition), offset: offset! };
        });
    const replayed = await replayDeadLetters(config, topic, which);
    print(values.json === true, replayed, (letters) => `${rows(letters)}\n${letters.length} replayed`);
  } else {
    console.error(usage);
    process.exit(2);
  }
} catch (error) {
  console.error(`dlq ${command}: ${(error as Error).message}`);
  process.exit(1);
}
process.exit(0);
