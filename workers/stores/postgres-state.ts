import type { Sql, TransactionSql } from "postgres";
import { Refused, type Change, type StateStore } from "../worker.ts";

/**
 * Errors about what was written, not about the server: data exceptions (22:
 * out of range, bad encoding...), integrity violations (23: a check or not
 * null constraint) and program limits (54: a row too large for an index).
 */
export const refusedForContent = (error: unknown) => /^(22|23|54)/.test(String((error as { code?: unknown })?.code ?? ""));

/** Rethrow a content error as a `Refused` naming what was refused. */
const refusal = (what: string) => (error: unknown): never => {
  throw refusedForContent(error) ? new Refused(`Postgres refused ${what}: ${(error as Error).message}`) : error;
};

export type PostgresStateOptions<S, E> = {
  sql: Sql;
  /** The worker's name in worker_offsets. */
  worker: string;
  /** The current state of these keys, read from the worker's table. */
  loadStates(sql: Sql, keys: readonly string[]): Promise<Map<string, S>>;
  /** Write the changes into the worker's table, inside the commit's transaction. */
  writeChanges(tx: TransactionSql, changes: readonly Change<S, E>[]): Promise<void>;
};

/**
 * State that is a Postgres table: the rows and the partition's applied offset
 * are committed in one transaction (SPEC §3.2). A commit whose offset is not
 * past the stored one (a replay, or a consumer that lost its partition) writes
 * nothing.
 */
export function postgresStateStore<S, E>({ sql, worker, loadStates, writeChanges }: PostgresStateOptions<S, E>): StateStore<S, E> {
  return {
    async load(tp, keys, clocks) {
      if (clocks.length > 0) throw new Error(`worker ${worker}: the Postgres state store keeps no stream times; a worker with eventTime needs the Redis store`);
      const [offsets, states] = await Promise.all([
        sql<{ applied_offset: string }[]>`
          select applied_offset from worker_offsets where worker = ${worker} and topic = ${tp.topic} and partition = ${tp.partition}`,
        keys.length > 0 ? loadStates(sql, keys).catch(refusal("a key")) : new Map<string, S>(),
      ]);
      const offset = offsets[0]?.applied_offset;
      return { appliedOffset: offset === undefined ? null : BigInt(offset), states, streamTimes: new Map() };
    },

    async commit(tp, changes, offset) {
      await sql
        .begin(async (tx) => {
          const advanced = await tx`
            insert into worker_offsets (worker, topic, partition, applied_offset)
            values (${worker}, ${tp.topic}, ${tp.partition}, ${offset})
            on conflict (worker, topic, partition) do update set applied_offset = excluded.applied_offset
            where worker_offsets.applied_offset < excluded.applied_offset
            returning 1`;
          if (advanced.length > 0 && changes.length > 0) await writeChanges(tx, changes);
        })
        .catch(refusal("the row"));
    },

    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
