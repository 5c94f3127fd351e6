import * as v from "valibot";
import { Id } from "../../infra/platform/contracts/fields.ts";
import { decodeJson, describeErrors } from "../../infra/platform/contracts/validate.ts";
import type { Decoded, InputRecord } from "./worker.ts";

export type Decode<E> = (record: InputRecord) => Decoded<E>;

/** A worker's `decode` from its topic's contract: JSON, validated, or the reason it is not. */
export function decodeWith<S extends v.GenericSchema>(schema: S): Decode<v.InferOutput<S>>;
export function decodeWith<S extends v.GenericSchema, E>(schema: S, as: (value: v.InferOutput<S>) => E): Decode<E>;
export function decodeWith<S extends v.GenericSchema, E>(schema: S, as?: (value: v.InferOutput<S>) => E): Decode<E> {
  return (record) => {
    const result = decodeJson(schema, record.value);
    if (!result.ok) return { ok: false, reason: describeErrors(result.errors) };
    return { ok: true, event: as ? as(result.value) : (result.value as E) };
  };
}

/** One decode for a worker with several inputs: each record by its topic's own. */
export function decodeByTopic<E>(byTopic: Readonly<Record<string, Decode<E>>>): Decode<E> {
  return (record) => {
    const decode = byTopic[record.topic];
    return decode ? decode(record) : { ok: false, reason: `${record.topic} is not an input of this worker` };
  };
}

/** A table topic's record: the row's id (the record key) and the row, null for a tombstone (deleted). */
export type TableRecord<T> = { id: string; row: T | null };

/**
 * The decode of a table topic (a compacted changelog or a CDC topic): the
 * key is the row's id, a null value deletes the row, and a row's own id
 * must be its key, or a compaction would keep the wrong one.
 */
export function decodeTableRecord<S extends v.GenericSchema>(
  schema: S,
  idField: keyof v.InferOutput<S> & string,
): Decode<TableRecord<v.InferOutput<S>>> {
  const decodeRow = decodeWith(schema);
  return (record) => {
    if (!v.is(Id, record.key))
      return { ok: false, reason: `key: a ${record.topic} record needs the ${idField} as its key` };
    if (record.value === null) return { ok: true, event: { id: record.key, row: null } };
    const row = decodeRow(record);
    if (!row.ok) return row;
    const id = (row.event as Record<string, unknown>)[idField];
    if (id !== record.key)
      return { ok: false, reason: `${idField}: ${String(id)} differs from the record key ${record.key}` };
    return { ok: true, event: { id: record.key, row: row.event } };
  };
}
