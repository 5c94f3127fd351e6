import { parseArgs } from "node:util";
import { loadConfig } from "../infra/platform/config.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { groupIdOf } from "../workers/runtime/runner.ts";

/**
 * The consumer's own ceiling, its own process: read `records` records of the
 * given topics from the group's committed offsets with a bare kafkajs
 * consumer, doing nothing with them. Prints records and seconds.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { group: { type: "string" }, topics: { type: "string" }, records: { type: "string" } },
});
const config = loadConfig();
const want = Number(values.records);
const consumer = createKafka(config).consumer({ groupId: groupIdOf(config, values.group!) });
await consumer.connect();
await consumer.subscribe({ topics: values.topics!.split(","), fromBeginning: true });
let seen = 0;
// Timed from joining the group: fetching starts then, as a worker's folding does.
let started = 0;
consumer.on(consumer.events.GROUP_JOIN, () => {
  started = performance.now();
});
const done = Promise.withResolvers<void>();
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    seen += batch.messages.length;
    if (seen >= want) done.resolve();
  },
});
await done.promise;
const seconds = (performance.now() - started) / 1000;
await consumer.disconnect();
console.log(JSON.stringify({ records: seen, seconds }));
process.exit(0);
