import type { KafkaMessage } from "kafkajs";
import type { Sql, TransactionSql } from "postgres";
import { createSql } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { admittingUntil, isStorableText } from "../../infra/platform/contracts/fields.ts";
import { describeErrors, validate } from "../../infra/platform/contracts/validate.ts";
import { createKafka } from "../../infra/platform/kafka/client.ts";
import { logger } from "../../infra/platform/log.ts";
import { writtenAt } from "../runtime/admission.ts";
import { groupIdOf } from "../runtime/runner.ts";
import { refusedForContent } from "../runtime/stores/postgres-state.ts";
import { COPY_FORMAT, csvField, csvLine, fieldText } from "./csv.ts";
import { type ColumnType, createTableSql, dayPartition, META_COLUMNS, qualified, WAREHOUSE_TABLES, type WarehouseTable } from "./tables.ts";

const log = logger("export");

/**
 * Partitions loaded at once: one chunk's JSON and CSV work (this process)
 * overlaps another's COPY (Postgres), each in its own transaction.
 */
const PARALLEL_CHUNKS = 4;

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

type Range = { table: WarehouseTable; partition: number; start: bigint; end: bigint };

type Field = [value: unknown, type: ColumnType | "raw"];

/**
 * A record as the fields of its table's row, or the reason it is not one
 * (judged as of when it was written, like every consumer). The admission
 * rule makes every field one Postgres stores, the key included.
 */
function toFields(table: WarehouseTable, partition: number, message: KafkaMessage, clockSkewMs: number): { fields: Field[]; day: string } | { reason: string } {
  if (message.value === null) return { reason: "null value (tombstone)" };
  const key = message.key?.toString() ?? null;
  if (key !== null && !isStorableText(key)) return { reason: "key: must not contain a NUL character or a lone surrogate" };
  const json = message.value.toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    return { reason: `invalid JSON: ${(error as Error).message}` };
  }
  const result = admittingUntil(writtenAt(message) + clockSkewMs, () => validate(table.schema, parsed));
  if (!result.ok) return { reason: describeErrors(result.errors) };
  const event = result.value as Record<string, unknown>;
  const fields: Field[] = table.columns.map((c) => [event[c.name], c.type]);
  fields.push([json, "raw"], [key, "text"], [table.topic, "text"], [partition, "int"], [message.offset, "bigint"]);
  return { fields, day: utcDay(event.occurred_at as string) };
}

/** The UTC day of a contract timestamp; one in UTC already starts with it (most do; a Date costs more than the rest of the row). */
const utcDay = (timestamp: string) => (timestamp.endsWith("Z") ? timestamp.slice(0, 10) : new Date(timestamp).toISOString().slice(0, 10));

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
  { tables = WAREHOUSE_TABLES, onProgress }: { tables?: readonly WarehouseTable[]; onProgress?(progress: ExportProgress): void } = {},
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
    return summary;
  } finally {
    await session`select pg_advisory_unlock(${EXPORT_LOCK})`.catch(() => {});
    session.release();
    await sql.end({ timeout: 5 });
  }
}

/** For each partition with something new: from the committed next offset (or the earliest kept) to today's end. */
async function plan(config: Config, sql: Sql, tables: readonly WarehouseTable[]): Promise<Range[]> {
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
          log.warn(`${table.topic}[${p.partition}]: offsets ${stored} to ${low - 1n} left the topic (retention) before they were exported`);
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

/**
 * Read every range with a consumer group of its own (made for this run,
 * seeked to the ranges' starts, deleted after), handing chunks of at most
 * EXPORT_BATCH records to `load`; done when every range reached its end.
 */
async function consume(config: Config, ranges: readonly Range[], load: (range: Range, messages: KafkaMessage[]) => Promise<void>): Promise<void> {
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
  const consumer = kafka.consumer({ groupId, maxBytes: 64 * 1024 * 1024, maxBytesPerPartition: 8 * 1024 * 1024, maxWaitTimeInMs: 200 });
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

type Reject = { _topic: string; _partition: number; _offset: string; _key: string | null; raw: string | null; reason: string };
type Row = { message: KafkaMessage; fields?: Field[]; day?: string; reject?: Reject };

const rejectOf = (table: WarehouseTable, partition: number, message: KafkaMessage, reason: string): Reject => ({
  _topic: table.topic,
  _partition: partition,
  _offset: message.offset,
  _key: message.key === null ? null : escapedForText(message.key.toString()),
  // The reject table is Postgres text too: what it cannot hold (NUL, a lone surrogate) is kept JSON-escaped.
  raw: message.value === null ? null : escapedForText(message.value.toString("utf8")),
  reason: escapedForText(reason),
});

const escapedForText = (text: string) => (isStorableText(text) ? text : JSON.stringify(text.toWellFormed()).slice(1, -1));

/**
 * One chunk: each record made a CSV line or a reject (here, off the
 * transaction), its day partitions made, then one transaction: the records
 * not loaded yet (by the committed next offset) COPYed in, the rejects, and
 * the new next offset. A row Postgres refuses for its content becomes a
 * reject with Postgres' reason, and the rest of the chunk loads.
 */
async function loadChunk(
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
    const [stored] = await tx<{ next_offset: string }[]>`
      select next_offset from warehouse.export_offsets where topic = ${table.topic} and partition = ${partition} for update`;
    const from = stored ? BigInt(stored.next_offset) : -1n;
    const fresh = rows.filter((r) => BigInt(r.message.offset) >= from);
    if (fresh.length === 0) return { loaded: 0, rejected: 0 };
    const loadable = fresh.filter((r) => r.fields !== undefined);
    const refused = loadable.length > 0 ? await loadRows(tx, table, loadable) : [];
    const rejects = [
      ...fresh.flatMap((r) => (r.reject ? [r.reject] : [])),
      ...refused.map(({ row, reason }) => rejectOf(table, partition, row.message, `Postgres refused the row: ${reason}`)),
    ];
    if (rejects.length > 0) await tx`insert into ${tx(`warehouse`)}.${tx(`${table.table}_rejects`)} ${tx(rejects)} on conflict do nothing`;
    const next = String(BigInt(fresh[fresh.length - 1]!.message.offset) + 1n);
    await tx`
      insert into warehouse.export_offsets (topic, partition, next_offset, updated_at) values (${table.topic}, ${partition}, ${next}, now())
      on conflict (topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`;
    return { loaded: loadable.length - refused.length, rejected: rejects.length };
  });
}

/**
 * COPY the rows in a savepoint. Should Postgres refuse one (what the
 * admission rule lets in should always load, so this is the unforeseen),
 * the chunk is loaded again row by row, each an INSERT in its own savepoint,
 * and the rows refused are returned with Postgres' reason; the rest loads.
 */
async function loadRows(tx: TransactionSql, table: WarehouseTable, rows: Row[]): Promise<{ row: Row; reason: string }[]> {
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

/** Day partitions made one at a time (chunks load in parallel), each in its own transaction. */
type DayPartitions = { ensure(table: string, day: string): Promise<void>; created: string[] };

function dayPartitions(sql: Sql, known: Set<string>): DayPartitions {
  const created: string[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  return {
    created,
    ensure(table, day) {
      const { name, from, to } = dayPartition(table, day);
      if (known.has(name)) return Promise.resolve();
      const made = queue.then(async () => {
        if (known.has(name)) return;
        await sql.unsafe(`create table if not exists ${qualified(name)} partition of ${qualified(table)} for values from ('${from}') to ('${to}')`);
        known.add(name);
        created.push(name);
      });
      queue = made.catch(() => {});
      return made;
    },
  };
}

async function existingPartitions(sql: Sql): Promise<Set<string>> {
  const rows = await sql<{ name: string }[]>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'warehouse'`;
  return new Set(rows.map((r) => r.name));
}

/** Drop day partitions that ended more than `days` days before today (UTC). */
async function dropExpired(sql: Sql, tables: readonly WarehouseTable[], days: number): Promise<string[]> {
  const today = new Date(new Date().toISOString().slice(0, 10));
  const cutoff = today.getTime() - days * 86_400_000;
  const dropped: string[] = [];
  for (const name of await existingPartitions(sql)) {
    const match = name.match(/^(.+)_p(\d{4})(\d{2})(\d{2})$/);
    if (!match || !tables.some((t) => t.table === match[1])) continue;
    const start = Date.parse(`${match[2]}-${match[3]}-${match[4]}T00:00:00Z`);
    if (start < cutoff) {
      await sql.unsafe(`drop table if exists ${qualified(name)}`);
      dropped.push(name);
    }
  }
  return dropped.sort();
}
