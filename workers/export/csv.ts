import type { ColumnType } from "./tables.ts";

/**
 * Values as fields of Postgres COPY ... (format csv): null is an empty
 * unquoted field, every other value is quoted (so "" is an empty string).
 */

const quoted = (text: string) => `"${text.includes('"') ? text.replaceAll('"', '""') : text}"`;

/** An array literal: {"a","b"} with backslash escapes inside elements. */
const arrayLiteral = (items: readonly unknown[]) => `{${items.map((item) => `"${String(item).replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`;

/** `jsonb` takes a JSON text as it came (it parsed, so it is valid). */
export function csvField(value: unknown, type: ColumnType | "jsonb" | "int" | "bigint"): string {
  if (value === null || value === undefined) return "";
  switch (type) {
    case "text[]":
      return quoted(arrayLiteral(value as unknown[]));
    case "jsonb":
      return quoted(value as string);
    case "numeric":
    case "int":
    case "bigint":
      return String(value);
    default:
      return quoted(String(value));
  }
}

export const csvLine = (fields: readonly string[]) => `${fields.join(",")}\n`;
