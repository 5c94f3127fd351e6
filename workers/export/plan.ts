import type { Sql } from "postgres";
import type { Config } from "../../infra/platform/config.ts";
import { createKafka } from "../../infra/platform/kafka/client.ts";
import { topicIncarnations } from "../../infra/platform/kafka/incarnation.ts";
import { logger } from "../../infra/platform/log.ts";
import type { WarehouseTable } from "./tables.ts";

const log = logger("export");

export type Range = { table: WarehouseTable; partition: number; start: bigint; end: bigint; incarnation: string };

/**
 * For each partition with something new: from the committed next offset (or
 * the earliest kept) to today's end. An offset committed in another
 * incarnation of the topic (a broker whose data was reset, a topic made
 * again) means nothing in this one: the partition is loaded from its
 * earliest record, with a warning, not skipped up to the old offset. For
 * offsets committed before incarnations were kept, one past the topic's end
 * is the sign of another log.
 */
export async function plan(config: Config, sql: Sql, tables: readonly WarehouseTable[]): Promise<Range[]> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const incarnations = await topicIncarnations(
      config,
      tables.map((t) => t.topic),
    );
    const ranges: Range[] = [];
    for (const table of tables) {
      const incarnation = incarnations.get(table.topic)!;
      const stored = await sql<
        { partition: number; next_offset: string; incarnation: string | null }[]
      >`select partition, next_offset, incarnation from warehouse.export_offsets where topic = ${table.topic}`;
      const committed = new Map(stored.map((s) => [s.partition, s]));
      for (const p of await admin.fetchTopicOffsets(table.topic)) {
        const low = BigInt(p.low);
        const end = BigInt(p.high);
        const row = committed.get(p.partition);
        const next = row ? BigInt(row.next_offset) : undefined;
        const otherLog =
          row !== undefined &&
          next !== undefined &&
          (row.incarnation === null ? next > end : row.incarnation !== incarnation);
        if (otherLog) {
          const why =
            row.incarnation !== null
              ? `committed in ${row.incarnation}, the topic is now ${incarnation}`
              : `past the topic's end ${end}`;
          log.warn(
            `${table.topic}[${p.partition}]: the committed offset ${next} is from another log (${why}: a reset broker or a topic made again); loading the partition from its earliest offset ${low}`,
          );
          // The load's exactly-once check starts from the committed offset: it now starts from the new log's.
          await sql`
            update warehouse.export_offsets set next_offset = ${String(low)}, incarnation = ${incarnation}, updated_at = now()
            where topic = ${table.topic} and partition = ${p.partition} and next_offset = ${row.next_offset}`;
        } else if (next !== undefined && next < low) {
          log.warn(
            `${table.topic}[${p.partition}]: offsets ${next} to ${low - 1n} left the topic (retention) before they were exported`,
          );
        }
        const start = next !== undefined && next > low && !otherLog ? next : low;
        ranges.push({ table, partition: p.partition, start, end: end > start ? end : start, incarnation });
      }
    }
    return ranges;
  } finally {
    await admin.disconnect();
  }
}
