import type { Sql } from "postgres";
import type { Config } from "../../infra/platform/config.ts";
import { createKafka } from "../../infra/platform/kafka/client.ts";
import { logger } from "../../infra/platform/log.ts";
import type { WarehouseTable } from "./tables.ts";

const log = logger("export");

export type Range = { table: WarehouseTable; partition: number; start: bigint; end: bigint };

/**
 * For each partition with something new: from the committed next offset (or
 * the earliest kept) to today's end. A committed offset past the end is from
 * another log (a broker whose data was reset, a topic made again): the
 * partition is loaded from its earliest record, not skipped until the new
 * log grows past the old offset.
 */
export async function plan(config: Config, sql: Sql, tables: readonly WarehouseTable[]): Promise<Range[]> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const ranges: Range[] = [];
    for (const table of tables) {
      const stored = await sql<
        { partition: number; next_offset: string }[]
      >`select partition, next_offset from warehouse.export_offsets where topic = ${table.topic}`;
      const next = new Map(stored.map((s) => [s.partition, BigInt(s.next_offset)]));
      for (const p of await admin.fetchTopicOffsets(table.topic)) {
        const low = BigInt(p.low);
        const stored = next.get(p.partition);
        if (stored !== undefined && stored < low) {
          log.warn(
            `${table.topic}[${p.partition}]: offsets ${stored} to ${low - 1n} left the topic (retention) before they were exported`,
          );
        }
        const end = BigInt(p.high);
        const newLog = stored !== undefined && stored > end;
        if (newLog) {
          log.warn(
            `${table.topic}[${p.partition}]: the committed offset ${stored} is past the topic's end ${end}: a new log (a reset broker or a topic made again); loading it from its earliest offset ${low}`,
          );
          // The load's exactly-once check starts from the committed offset: it now starts from the new log's.
          await sql`
            update warehouse.export_offsets set next_offset = ${String(low)}, updated_at = now()
            where topic = ${table.topic} and partition = ${p.partition} and next_offset = ${String(stored)}`;
        }
        const start = stored !== undefined && stored > low && !newLog ? stored : low;
        ranges.push({ table, partition: p.partition, start, end: end > start ? end : start });
      }
    }
    return ranges;
  } finally {
    await admin.disconnect();
  }
}
