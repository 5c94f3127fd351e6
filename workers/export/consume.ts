import type { KafkaMessage } from "kafkajs";
import type { Config } from "../../infra/platform/config.ts";
import { CATCH_UP_FETCH, createKafka } from "../../infra/platform/kafka/client.ts";
import { groupIdOf } from "../runtime/runner.ts";
import type { Range } from "./plan.ts";

/**
 * Partitions loaded at once: one chunk's JSON and CSV work (this process)
 * overlaps another's COPY (Postgres), each in its own transaction.
 */
export const PARALLEL_CHUNKS = 4;

/**
 * Read every range with a consumer group of its own (made for this run,
 * seeked to the ranges' starts, deleted after), handing chunks of at most
 * EXPORT_BATCH records to `load`; done when every range reached its end.
 */
export async function consume(
  config: Config,
  ranges: readonly Range[],
  load: (range: Range, messages: KafkaMessage[]) => Promise<void>,
): Promise<void> {
  const kafka = createKafka(config);
  const groupId = groupIdOf(config, `warehouse-export-${process.pid}-${Date.now().toString(36)}`);
  const admin = kafka.admin();
  await admin.connect();
  const key = (topic: string, partition: number) => `${topic}:${partition}`;
  const byKey = new Map(ranges.map((r) => [key(r.table.topic, r.partition), r]));
  const topics = [...new Set(ranges.map((r) => r.table.topic))];
  const remaining = new Set(ranges.filter((r) => r.end > r.start).map((r) => key(r.table.topic, r.partition)));
  const finished = Promise.withResolvers<void>();
  // A chunk that failed (Postgres down, say) ends the run with its error; nothing after it is loaded.
  let failed = false;
  // A short fetch wait: leaving the group waits for the fetch in flight.
  const consumer = kafka.consumer({
    groupId,
    ...CATCH_UP_FETCH,
    maxWaitTimeInMs: 200,
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: PARALLEL_CHUNKS,
      eachBatch: async ({ batch, isRunning }) => {
        const range = byKey.get(key(batch.topic, batch.partition));
        if (!range || failed) return;
        const wanted = batch.messages.filter((m) => BigInt(m.offset) < range.end);
        for (let i = 0; i < wanted.length && isRunning() && !failed; i += config.EXPORT_BATCH) {
          try {
            await load(range, wanted.slice(i, i + config.EXPORT_BATCH));
          } catch (error) {
            // Not rethrown: the consumer would retry the batch forever; the run ends instead.
            failed = true;
            finished.reject(error);
            return;
          }
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last && BigInt(last.offset) + 1n >= range.end) {
          remaining.delete(key(batch.topic, batch.partition));
          consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          if (remaining.size === 0) finished.resolve();
        }
      },
    });
    // Seeking after run() applies before the first fetch of each partition
    // (admin.setOffsets on a new group costs seconds of coordinator lookups).
    for (const r of ranges) consumer.seek({ topic: r.table.topic, partition: r.partition, offset: String(r.start) });
    if (remaining.size === 0) finished.resolve();
    await finished.promise;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
}
