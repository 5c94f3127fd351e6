import type { Sql } from "postgres";
import type { Config } from "../../infra/platform/config.ts";
import { createKafka } from "../../infra/platform/kafka/client.ts";
import { logger } from "../../infra/platform/log.ts";
import type { WarehouseTable } from "./tables.ts";

const log = logger("export");

export type Range = { table: WarehouseTable; partition: number; start: bigint; end: bigint };

/** For each partition with something new: from the committed next offset (or the earliest kept) to today's end. */
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
        const start = stored !== undefined && stored > low ? stored : low;
        const end = BigInt(p.high);
        ranges.push({ table, partition: p.partition, start, end: end > start ? end : start });
      }
    }
    return ranges;
  } finally {
    await admin.disconnect();
  }
}
