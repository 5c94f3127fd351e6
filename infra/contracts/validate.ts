import * as v from "valibot";

export type FieldError = { field: string; reason: string };

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Check a value against a contract; every problem names its field (dotted path; "" is the value itself). */
export function validate<S extends v.GenericSchema>(schema: S, value: unknown): Validated<v.InferOutput<S>> {
  // One message per field: stop a field's checks at its first failure.
  const result = v.safeParse(schema, value, { abortPipeEarly: true });
  if (result.success) return { ok: true, value: result.output };
  return {
    ok: false,
    errors: result.issues.map((issue) => ({ field: v.getDotPath(issue) ?? "", reason: issue.message })),
  };
}

/** One line for logs and dead-letter headers. */
export const describeErrors = (errors: FieldError[]) => errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join("; ");

/** Decode a record value (UTF-8 JSON) against its topic's contract. */
export function decodeJson<S extends v.GenericSchema>(schema: S, bytes: Buffer | null): Validated<v.InferOutput<S>> {
  if (bytes === null) return { ok: false, errors: [{ field: "", reason: "empty value (tombstone) where an event was expected" }] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    return { ok: false, errors: [{ field: "", reason: `invalid JSON: ${(error as Error).message}` }] };
  }
  return validate(schema, parsed);
}
