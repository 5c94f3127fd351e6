import type { KafkaMessage } from "kafkajs";
import { admittingUntil, isStorableText } from "../../infra/platform/contracts/fields.ts";
import { describeErrors, validate } from "../../infra/platform/contracts/validate.ts";
import { writtenAt } from "../runtime/admission.ts";
import type { ColumnType, WarehouseTable } from "./tables.ts";

/** A record of a raw topic as its warehouse row, or as a reject with the reason. */
export type Field = [value: unknown, type: ColumnType | "raw"];

/**
 * A record as the fields of its table's row, or the reason it is not one
 * (judged as of when it was written, like every consumer). The admission
 * rule makes every field one Postgres stores, the key included.
 */
export function toFields(
  table: WarehouseTable,
  partition: number,
  message: KafkaMessage,
  clockSkewMs: number,
): { fields: Field[]; day: string } | { reason: string } {
  if (message.value === null) return { reason: "null value (tombstone)" };
  const key = message.key?.toString() ?? null;
  if (key !== null && !isStorableText(key))
    return { reason: "key: must not contain a NUL character or a lone surrogate" };
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
const utcDay = (timestamp: string) =>
  timestamp.endsWith("Z") ? timestamp.slice(0, 10) : new Date(timestamp).toISOString().slice(0, 10);

export type Reject = {
  _topic: string;
  _partition: number;
  _offset: string;
  _key: string | null;
  raw: string | null;
  reason: string;
};
export type Row = { message: KafkaMessage; fields?: Field[]; day?: string; reject?: Reject };

export const rejectOf = (table: WarehouseTable, partition: number, message: KafkaMessage, reason: string): Reject => ({
  _topic: table.topic,
  _partition: partition,
  _offset: message.offset,
  _key: message.key === null ? null : escapedForText(message.key.toString()),
  // The reject table is Postgres text too: what it cannot hold (NUL, a lone surrogate) is kept JSON-escaped.
  raw: message.value === null ? null : escapedForText(message.value.toString("utf8")),
  reason: escapedForText(reason),
});

const escapedForText = (text: string) =>
  isStorableText(text) ? text : JSON.stringify(text.toWellFormed()).slice(1, -1);
