import { validator } from "hono/validator";
import * as v from "valibot";
import { Id } from "../../infra/platform/contracts/fields.ts";
import { IDENTIFIER_TYPES, type Identifier, type IdentifierType } from "../../infra/platform/contracts/identity.ts";
import { validate } from "../../infra/platform/contracts/validate.ts";
import { invalid } from "./errors.ts";

/** An integer query parameter from `min` to `max`, `fallback` when absent. */
export const integerParam = (min: number, max: number, fallback: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,9}$/, "expected an integer"),
      v.transform(Number),
      v.minValue(min, `must be at least ${min}`),
      v.maxValue(max, `must be at most ${max}`),
    ),
    String(fallback),
  );

/**
 * Middleware: the query string checked against its schema (a repeated
 * parameter is a list, which a string field refuses), or a 400 naming every
 * bad parameter. The handler reads the result with `c.req.valid("query")`.
 */
export const validQuery = <S extends v.GenericSchema>(schema: S) =>
  validator("query", (query, c) => {
    const parsed = validate(schema, query);
    return parsed.ok
      ? (parsed.value as v.InferOutput<S>)
      : invalid(c, "invalid_query", "bad query parameters", parsed.errors);
  });

/**
 * Middleware: the identifier a lookup names, its id in the path parameter
 * `name` and its type in `id_type` (SPEC §2.7; a user_id unless said), or a
 * 400 naming what is wrong. Only `id_type` is read from the query: lookups
 * are the hot path. The handler reads it with `c.req.valid("param")`.
 */
export const validIdentifier = (name: string) =>
  validator("param", (params: Record<string, string>, c): Identifier | Response => {
    const type = c.req.query("id_type") ?? "user_id";
    if (!(IDENTIFIER_TYPES as readonly string[]).includes(type))
      return invalid(c, "invalid_query", "bad query parameters", [
        { field: "id_type", reason: `expected one of ${IDENTIFIER_TYPES.join(", ")}` },
      ]);
    const parsed = validate(Id, params[name] ?? "");
    if (!parsed.ok) {
      const errors = parsed.errors.map((e) => ({ field: name, reason: e.reason }));
      return invalid(c, "invalid_id", `${name} must be an id: 1 to 128 characters, no NUL or lone surrogate`, errors);
    }
    return { type: type as IdentifierType, value: parsed.value };
  });

/**
 * Middleware: path parameters that must be ids (SPEC §8), or a 400 naming
 * the first that is not. The handler reads them with `c.req.valid("param")`.
 */
export const validIds = <const N extends string>(...names: N[]) =>
  validator("param", (params: Record<string, string>, c) => {
    for (const name of names) {
      const parsed = validate(Id, params[name] ?? "");
      if (!parsed.ok) {
        const errors = parsed.errors.map((e) => ({ field: name, reason: e.reason }));
        return invalid(c, "invalid_id", `${name} must be an id: 1 to 128 characters, no NUL or lone surrogate`, errors);
      }
    }
    return params as Record<N, string>;
  });
