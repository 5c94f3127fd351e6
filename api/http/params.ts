import type { Context } from "hono";
import * as v from "valibot";
import { Id } from "../../infra/platform/contracts/fields.ts";
import { validate, type FieldError } from "../../infra/platform/contracts/validate.ts";
import { invalid } from "./errors.ts";

/** An integer query parameter from `min` to `max`, `fallback` when absent. */
export const integerParam = (min: number, max: number, fallback: number) =>
  v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,9}$/, "expected an integer"), v.transform(Number), v.minValue(min, `must be at least ${min}`), v.maxValue(max, `must be at most ${max}`)),
    String(fallback),
  );

type Parsed<T> = { ok: true; value: T } | { ok: false; response: Response };

/** The query parameters checked against their schema, or a 400 naming every bad one. */
export function parseQuery<S extends v.GenericSchema>(c: Context, schema: S): Parsed<v.InferOutput<S>> {
  const parsed = validate(schema, c.req.query());
  return parsed.ok ? parsed : { ok: false, response: invalid(c, "invalid_query", "bad query parameters", parsed.errors) };
}

/** A path parameter that must be an id (SPEC §8), or a 400 naming it. */
export function parseId(c: Context, name: string): Parsed<string> {
  const value = c.req.param(name) ?? "";
  const parsed = validate(Id, value);
  if (parsed.ok) return parsed;
  const errors: FieldError[] = parsed.errors.map((e) => ({ field: name, reason: e.reason }));
  return { ok: false, response: invalid(c, "invalid_id", `${name} must be an id: 1 to 128 characters, no NUL or lone surrogate`, errors) };
}
