import * as v from "valibot";
import { acceptOf, UNDECIDED } from "./accept.ts";

export type FieldError = { field: string; reason: string };

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Nesting a record may have; Postgres jsonb (the warehouse's raw column) and the search engine refuse far deeper ones. */
export const MAX_JSON_DEPTH = 32;

/** A problem found under a value: the keys leading to it, innermost first (a path is built only for a problem). */
type Problem = { keys: (string | number)[]; reason: string };

/**
 * The first place where a JSON value breaks the admission rule outside what
 * its contract checks: the unknown fields a foreign producer added are kept
 * in the warehouse's raw record, so they too must be storable.
 */
function unstorable(value: unknown, depth: number): Problem | undefined {
  if (typeof value === "string") {
    if (value.includes("\0")) return { keys: [], reason: "must not contain a NUL character" };
    if (!value.isWellFormed()) return { keys: [], reason: "must not contain a lone surrogate (invalid UTF-16)" };
    return undefined;
  }
  if (typeof value === "number") return Number.isFinite(value) ? undefined : { keys: [], reason: "must be finite" };
  if (value === null || typeof value !== "object") return undefined;
  if (depth >= MAX_JSON_DEPTH) return { keys: [], reason: `nests deeper than ${MAX_JSON_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = unstorable(value[i], depth + 1);
      if (problem) {
        problem.keys.push(i);
        return problem;
      }
    }
    return undefined;
  }
  for (const key in value) {
    if (key.includes("\0") || !key.isWellFormed())
      return { keys: [key], reason: "a field name must not contain a NUL character or a lone surrogate" };
    const problem = unstorable((value as Record<string, unknown>)[key], depth + 1);
    if (problem) {
      problem.keys.push(key);
      return problem;
    }
  }
  return undefined;
}

const fieldError = ({ keys, reason }: Problem): FieldError => ({ field: keys.reverse().join("."), reason });

/**
 * Check a value against a contract and the admission rule (SPEC §3.7);
 * every problem names its field (dotted path; "" is the value itself).
 */
export function validate<S extends v.GenericSchema>(schema: S, value: unknown): Validated<v.InferOutput<S>> {
  let output = acceptOf(schema)(value);
  if (output === UNDECIDED) {
    // One message per field: stop a field's checks at its first failure.
    const result = v.safeParse(schema, value, { abortPipeEarly: true });
    if (!result.success) {
      return {
        ok: false,
        errors: result.issues.map((issue) => ({ field: v.getDotPath(issue) ?? "", reason: issue.message })),
      };
    }
    output = result.output;
  }
  const problem = unstorable(value, 0);
  return problem ? { ok: false, errors: [fieldError(problem)] } : { ok: true, value: output };
}

/** One line for logs and dead-letter headers. */
export const describeErrors = (errors: FieldError[]) =>
  errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join("; ");

/** Decode a record value (UTF-8 JSON) against its topic's contract. */
export function decodeJson<S extends v.GenericSchema>(schema: S, bytes: Buffer | null): Validated<v.InferOutput<S>> {
  if (bytes === null)
    return { ok: false, errors: [{ field: "", reason: "empty value (tombstone) where an event was expected" }] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    return { ok: false, errors: [{ field: "", reason: `invalid JSON: ${(error as Error).message}` }] };
  }
  return validate(schema, parsed);
}
