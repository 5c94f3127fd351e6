import * as v from "valibot";

/** Field shapes shared by every topic contract (SPEC §8). */

export const Id = v.pipe(v.string("expected a string id"), v.nonEmpty("must not be empty"), v.maxLength(128, "must be at most 128 characters"));

// ISO-8601 with a zone: 2026-11-25T13:04:05.123Z or ...+01:00.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Rejects 2026-02-31 and 25:00, which Date.parse may roll over silently. */
function isRealDate(value: string): boolean {
  const [y, m, d, hh, mm] = value.split(/[-T:]/).map(Number) as [number, number, number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCMonth() === m - 1 && day.getUTCDate() === d && hh < 24 && mm < 60 && !Number.isNaN(Date.parse(value));
}

export const Timestamp = v.pipe(
  v.string("expected an ISO-8601 time string"),
  v.regex(TIMESTAMP, "expected an ISO-8601 time with a zone, like 2026-11-25T13:04:05.123Z"),
  v.check(isRealDate, "is not a real date and time"),
);

export const Amount = v.pipe(v.number("expected a number"), v.finite("must be finite"), v.minValue(0, "must not be negative"));

/**
 * The object of a contract: unknown fields are dropped, a missing required
 * field is reported on that field as "is required".
 */
export const contract = <E extends v.ObjectEntries>(entries: E) =>
  v.object(entries, (issue) => (issue.input === undefined && issue.path?.length ? "is required" : "expected a JSON object"));

/** Optional fields may be absent or null. */
export const optionalText = (max = 2048) => v.nullish(v.pipe(v.string("expected a string"), v.maxLength(max, `must be at most ${max} characters`)));
