import type { Sql, TransactionSql } from "postgres";
import { type Change, Refused, type StateStore } from "../worker.ts";

/**
 * Errors about what was written, not about the server: data exceptions (22:
 * out of range, bad encoding...), integrity violations (23: a check or not
 * null constraint) and program limits (54: a row too large for an index).
 */
export const refusedForContent = (error: unknown) =>
  /^(22|23|54)/.test(String((error as { code?: unknown })?.code ?? ""));

/** Rethrow a content error as a `Refused` naming what was refused. */
const refusal =
  (what: string) =>
  (error: unknown): never => {
    throw refusedForContent(error) ? new Refused(`Postgres refused ${what}: ${(error as Error).message}`) : error;
  };

export type PostgresStateOptions<S, E> = {
  sql: Sql;
  /** The worker's name in worker_offsets and worker_stores. */
  worker: string;
  /** The current state of these keys, read from the worker's table. */
  loadStates(sql: Sql, keys: readonly string[]): Promise<Map<string, S>>;
  /** Write the changes into the worker's table, inside the commit's transaction. */
  writeChanges(tx: TransactionSql, changes: readonly Change<S, E>[]): Promise<void>;
  /**
   * Empty the worker's table when its view is folded again from the
   * beginning. Absent for a table that records effects in the world (emails
   * sent): those rows stay, so nothing is done twice.
   */
  dropRows?(tx: TransactionSql): Promise<void>;
};

/**
 * State that is a Postgres table: the rows, the partition's applied offset
 * and the topic incarnation it belongs to are committed in one transaction
 * (SPEC §3.2). A commit whose offset is not past the stored one (a replay,
 * or a consumer that lost its partition) writes nothing.
 */
export function postgresStateStore<S, E>({
  sql,
  worker,
  loadStates,
  writeChanges,
  dropRows,
}: PostgresStateOptions<S, E>): StateStore<S, E> {
  return {
    async id() {
      await sql`insert into worker_stores (worker, store_id) values (${worker}, ${crypto.randomUUID()}) on conflict (worker) do nothing`;
      const [row] = await sql<{ store_id: string }[]>`select store_id from worker_stores where worker = ${worker}`;
      return row!.store_id;
    },

    async load(tp, keys, clocks, _trailing, lane = []) {
      if (clocks.length > 0)
        throw new Error(
          `worker ${worker}: the Postgres state store keeps no stream times; a worker with eventTime needs the Redis store`,
        );
      const topics = [tp.topic, ...lane.map((other) => other.topic)];
      const [offsets, states] = await Promise.all([
        sql<{ topic: string; applied_offset: string; incarnation: string | null }[]>`
          select topic, applied_offset, incarnation from worker_offsets
          where worker = ${worker} and partition = ${tp.partition} and topic in ${sql(topics)}`,
        keys.length > 0 ? loadStates(sql, keys).catch(refusal("a key")) : new Map<string, S>(),
      ]);
      const stored = offsets.find((row) => row.topic === tp.topic);
      const laneOffsets = new Map(
        offsets.filter((row) => row.topic !== tp.topic).map((row) => [row.topic, BigInt(row.applied_offset)]),
      );
      return {
        appliedOffset: stored === undefined ? null : BigInt(stored.applied_offset),
        incarnation: stored?.incarnation ?? null,
        states,
        streamTimes: new Map(),
        // No trailing sinks here: the runner refuses them on a store without commitSinkOffset.
        sinkOffsets: new Map(),
        laneOffsets,
      };
    },

    async commit(tp, changes, offset, _streamTime, incarnation) {
      await sql
        .begin(async (tx) => {
          const advanced = await tx`
            insert into worker_offsets (worker, topic, partition, applied_offset, incarnation)
            values (${worker}, ${tp.topic}, ${tp.partition}, ${offset}, ${incarnation})
            on conflict (worker, topic, partition) do update set applied_offset = excluded.applied_offset, incarnation = excluded.incarnation
            where worker_offsets.applied_offset < excluded.applied_offset
            returning 1`;
          if (advanced.length > 0 && changes.length > 0) await writeChanges(tx, changes);
        })
        .catch(refusal("the row"));
    },

    async reset() {
      await sql.begin(async (tx) => {
        await dropRows?.(tx);
        await tx`delete from worker_offsets where worker = ${worker}`;
        await tx`delete from worker_stores where worker = ${worker}`;
      });
    },

    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
