import { createSql } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { exportLastSuccess, exportRowsLoaded, exportRowsRejected } from "../../infra/platform/metrics.ts";
import { consume, PARALLEL_CHUNKS } from "./consume.ts";
import { loadChunk } from "./load.ts";
import { dayPartitions, dropExpired, existingPartitions } from "./partitions.ts";
import { plan } from "./plan.ts";
import { createTableSql, WAREHOUSE_TABLES, type WarehouseTable } from "./tables.ts";

/** Held for a whole run: runs never overlap, whichever process starts them. */
const EXPORT_LOCK = 7316202613;

export type ExportProgress = { loaded: number; total: number; secondsElapsed: number };
export type ExportSummary = {
  tables: Record<string, { loaded: number; rejected: number }>;
  partitionsCreated: string[];
  partitionsDropped: string[];
  seconds: number;
};

export class ExportBusy extends Error {}

/**
 * One run of the warehouse export (SPEC §2.6): every chosen topic from the
 * offsets the last run committed up to the ends as they are when it starts,
 * loaded with COPY into the topic's table; each chunk's rows, its rejects and
 * its next offset commit in one transaction, so a crash at any moment and a
 * rerun leave no duplicate and no gap. Day partitions are made as rows need
 * them; partitions older than WAREHOUSE_RETENTION_DAYS are dropped at the end.
 */
export async function runExport(
  config: Config,
  {
    tables = WAREHOUSE_TABLES,
    onProgress,
  }: { tables?: readonly WarehouseTable[]; onProgress?(progress: ExportProgress): void } = {},
): Promise<ExportSummary> {
  const began = performance.now();
  const sql = createSql(config, PARALLEL_CHUNKS + 2);
  const session = await sql.reserve();
  const summary: ExportSummary = {
    tables: Object.fromEntries(tables.map((t) => [t.table, { loaded: 0, rejected: 0 }])),
    partitionsCreated: [],
    partitionsDropped: [],
    seconds: 0,
  };
  try {
    const [lock] = await session<{ held: boolean }[]>`select pg_try_advisory_lock(${EXPORT_LOCK}) as held`;
    if (!lock!.held) throw new ExportBusy("another export run is in progress");
    for (const table of tables) for (const ddl of createTableSql(table)) await sql.unsafe(ddl);
    const partitions = dayPartitions(sql, await existingPartitions(sql));

    const ranges = await plan(config, sql, tables);
    const total = ranges.reduce((n, r) => n + Number(r.end - r.start), 0);
    let loaded = 0;
    const report = () => onProgress?.({ loaded, total, secondsElapsed: (performance.now() - began) / 1000 });
    report();
    if (total > 0) {
      await consume(config, ranges, async (range, messages) => {
        const counts = await loadChunk(sql, range, messages, partitions, config.MAX_CLOCK_SKEW_MS);
        summary.tables[range.table.table]!.loaded += counts.loaded;
        summary.tables[range.table.table]!.rejected += counts.rejected;
        loaded += messages.length;
        report();
      });
    }
    summary.partitionsCreated = partitions.created;
    summary.partitionsDropped = await dropExpired(sql, tables, config.WAREHOUSE_RETENTION_DAYS);
    summary.seconds = (performance.now() - began) / 1000;
    for (const [table, counts] of Object.entries(summary.tables)) {
      exportRowsLoaded.inc({ table }, counts.loaded);
      exportRowsRejected.inc({ table }, counts.rejected);
    }
    exportLastSuccess.set(Date.now() / 1000);
    return summary;
  } finally {
    await session`select pg_advisory_unlock(${EXPORT_LOCK})`.catch(() => {});
    session.release();
    await sql.end({ timeout: 5 });
  }
}
