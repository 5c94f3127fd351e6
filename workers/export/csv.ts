import type { ColumnType } from "./tables.ts";

/**
 * Values as fields of Postgres COPY ... (COPY_FORMAT): CSV quoted with the
 * byte 0x01 instead of `"`. JSON text cannot hold a raw control character, so
 * a record's JSON goes in as it came, with no scan and no doubled quotes
 * (doubling every `"` of every record cost more than the COPY itself).
 * Null is an empty unquoted field; every other value is quoted, so "" is an
 * empty string.
 */
export const COPY_FORMAT = "format csv, quote e'\\x01'";

const QUOTE = "\x01";

const quoted = (text: string) => QUOTE + (text.includes(QUOTE) ? text.replaceAll(QUOTE, QUOTE + QUOTE) : text) + QUOTE;

/** An array literal: {"a","b"} with backslash escapes inside elements. */
const arrayLiteral = (items: readonly unknown[]) =>
  `{${items.map((item) => `"${String(item).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`;

/** `raw` is a record's JSON text that parsed, so it holds no control character and needs no scan. */
export function csvField(value: unknown, type: ColumnType | "raw"): string {
  if (value === null || value === undefined) return "";
  switch (type) {
    case "text[]":
      return quoted(arrayLiteral(value as unknown[]));
    case "raw":
      return QUOTE + (value as string) + QUOTE;
    case "jsonb":
      // JSON.stringify escapes every control character, so no scan either.
      return QUOTE + JSON.stringify(value) + QUOTE;
    case "numeric":
    case "boolean":
    case "int":
    case "bigint":
      return String(value);
    default:
      return quoted(String(value));
  }
}

export const csvLine = (fields: readonly string[]) => `${fields.join(",")}\n`;

/** The same value as the text a typed parameter takes (`$1::numeric`...): how a row goes in by INSERT. */
export function fieldText(value: unknown, type: ColumnType | "raw"): string | null {
  if (value === null || value === undefined) return null;
  if (type === "text[]") return arrayLiteral(value as unknown[]);
  if (type === "jsonb") return JSON.stringify(value);
  return String(value);
}
