import type { KafkaMessage } from "kafkajs";
import type { Sql, TransactionSql } from "postgres";
import { refusedForContent } from "../runtime/stores/postgres-state.ts";
import { COPY_FORMAT, csvField, csvLine, fieldText } from "./csv.ts";
import type { DayPartitions } from "./partitions.ts";
import type { Range } from "./plan.ts";
import { type Row, rejectOf, toFields } from "./rows.ts";
import { META_COLUMNS, qualified, type WarehouseTable } from "./tables.ts";

/**
 * One chunk: each record made a CSV line or a reject (here, off the
 * transaction), its day partitions made, then one transaction: the records
 * not loaded yet (by the committed next offset) COPYed in, the rejects, and
 * the new next offset. A row Postgres refuses for its content becomes a
 * reject with Postgres' reason, and the rest of the chunk loads.
 */
export async function loadChunk(
  sql: Sql,
  range: Range,
  messages: KafkaMessage[],
  partitions: DayPartitions,
  clockSkewMs: number,
): Promise<{ loaded: number; rejected: number }> {
  const { table, partition } = range;
  const rows = messages.map((message): Row => {
    const row = toFields(table, partition, message, clockSkewMs);
    if ("reason" in row) return { message, reject: rejectOf(table, partition, message, row.reason) };
    return { message, fields: row.fields, day: row.day };
  });
  // Made (and committed) before the rows: an empty partition left by a crash is harmless.
  for (const day of new Set(rows.flatMap((r) => (r.day ? [r.day] : [])))) await partitions.ensure(table.table, day);
  return sql.begin(async (tx) => {
    const [stored] = await tx<{ next_offset: string; incarnation: string | null }[]>`
      select next_offset, incarnation from warehouse.export_offsets where topic = ${table.topic} and partition = ${partition} for update`;
    if (stored?.incarnation != null && stored.incarnation !== range.incarnation)
      throw new Error(
        `${table.topic}[${partition}]: its committed offset is now of ${stored.incarnation}, not the ${range.incarnation} this run planned for; run the export again`,
      );
    const from = stored ? BigInt(stored.next_offset) : -1n;
    const fresh = rows.filter((r) => BigInt(r.message.offset) >= from);
    if (fresh.length === 0) return { loaded: 0, rejected: 0 };
    const loadable = fresh.filter((r) => r.fields !== undefined);
    const refused = loadable.length > 0 ? await loadRows(tx, table, loadable) : [];
    const rejects = [
      ...fresh.flatMap((r) => (r.reject ? [r.reject] : [])),
      ...refused.map(({ row, reason }) =>
        rejectOf(table, partition, row.message, `Postgres refused the row: ${reason}`),
      ),
    ];
    if (rejects.length > 0)
      await tx`insert into ${tx(`warehouse`)}.${tx(`${table.table}_rejects`)} ${tx(rejects)} on conflict do nothing`;
    const next = String(BigInt(fresh[fresh.length - 1]!.message.offset) + 1n);
    await tx`
      insert into warehouse.export_offsets (topic, partition, next_offset, incarnation, updated_at)
      values (${table.topic}, ${partition}, ${next}, ${range.incarnation}, now())
      on conflict (topic, partition) do update
      set next_offset = excluded.next_offset, incarnation = excluded.incarnation, updated_at = now()`;
    return { loaded: loadable.length - refused.length, rejected: rejects.length };
  });
}

/**
 * COPY the rows in a savepoint. Should Postgres refuse one (what the
 * admission rule lets in should always load, so this is the unforeseen),
 * the chunk is loaded again row by row, each an INSERT in its own savepoint,
 * and the rows refused are returned with Postgres' reason; the rest loads.
 */
async function loadRows(
  tx: TransactionSql,
  table: WarehouseTable,
  rows: Row[],
): Promise<{ row: Row; reason: string }[]> {
  const columns = [...table.columns.map((c) => c.name), ...META_COLUMNS].map((c) => `"${c}"`).join(", ");
  try {
    // One write per chunk: a CopyData message per line costs more than the COPY itself.
    await tx.savepoint((sp) =>
      copyIn(
        sp,
        `copy ${qualified(table.table)} (${columns}) from stdin (${COPY_FORMAT})`,
        rows.map((r) => csvLine(r.fields!.map(([v, t]) => csvField(v, t)))).join(""),
      ),
    );
    return [];
  } catch (error) {
    // 25P02: the probe behind a COPY Postgres refused. Why, the inserts below tell.
    if (!refusedForContent(error) && (error as { code?: string }).code !== "25P02") throw error;
  }
  const types = [...table.columns.map((c) => c.type), "jsonb", "text", "text", "int", "bigint"];
  const insert = `insert into ${qualified(table.table)} (${columns}) values (${types.map((t, i) => `$${i + 1}::${t}`).join(", ")})`;
  const refused: { row: Row; reason: string }[] = [];
  for (const row of rows) {
    await tx
      .savepoint((sp) =>
        sp.unsafe(
          insert,
          row.fields!.map(([v, t]) => fieldText(v, t)),
        ),
      )
      .catch((error: Error) => {
        if (!refusedForContent(error)) throw error;
        refused.push({ row, reason: error.message });
      });
  }
  return refused;
}

/**
 * COPY `data` and know whether Postgres took it. postgres.js never settles a
 * COPY that Postgres refuses once all the data is sent (the error reaches
 * no one), so a query is queued right behind it: it answers once the COPY
 * is done, and fails with 25P02 (transaction aborted) when the COPY failed.
 */
async function copyIn(sql: TransactionSql, statement: string, data: string): Promise<void> {
  const copy = await sql.unsafe(statement).writable();
  copy.on("error", () => {});
  await new Promise<void>((resolve, reject) => copy.write(data, (error) => (error ? reject(error) : resolve())));
  copy.end();
  for (let tries = 0; ; tries++) {
    // Let the stream send CopyDone before the probe is queued.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "COPY_IN_PROGRESS" || tries > 100) throw error;
    }
  }
}
