import * as v from "valibot";

/**
 * Field shapes shared by every topic contract (SPEC §8), and the admission
 * rule (SPEC §3.7): what any way in accepts, every later stage (Redis,
 * Postgres, the search engine, the warehouse) can store. Strings hold no NUL
 * and no lone surrogate, times lie between 1970 and now + the allowed clock
 * skew with a real zone offset, amounts are finite and bounded.
 */

export const ADMISSION = {
  /** The earliest event time admitted (Postgres, the search engine and every date library agree from here on). */
  earliestMs: Date.UTC(1970, 0, 1),
  /** How far ahead of now an event time may be when no caller says (MAX_CLOCK_SKEW_MS). */
  defaultClockSkewMs: 5 * 60_000,
  /** The largest amount (cart_amount, price, total_amount): sums of billions of them stay exact to the cent and finite. */
  maxAmount: 1_000_000_000,
  /** Zone offsets that exist: UTC-12:00 to UTC+14:00. */
  maxOffsetMinutes: { behind: 12 * 60, ahead: 14 * 60 },
} as const;

/**
 * "Now" for the admission of a time. Valibot checks take no arguments, so a
 * caller that knows better than the wall clock (a consumer judging a record
 * by when it was written, so a replay decides the same way) sets the latest
 * admissible time around its synchronous parse.
 */
let latestAdmissible: number | undefined;

export function admittingUntil<T>(latestMs: number, parse: () => T): T {
  const before = latestAdmissible;
  latestAdmissible = latestMs;
  try {
    return parse();
  } finally {
    latestAdmissible = before;
  }
}

const latestAdmissibleMs = () => latestAdmissible ?? Date.now() + ADMISSION.defaultClockSkewMs;

/** Whether Postgres text, jsonb and the search engine all store a string: no NUL, no lone surrogate. */
export const isStorableText = (text: string) => !text.includes("\0") && text.isWellFormed();

/** The same as a schema, with a message for each way to fail. */
export const storableText = v.pipe(
  v.string("expected a string"),
  v.check((text) => !text.includes("\0"), "must not contain a NUL character"),
  v.check((text) => text.isWellFormed(), "must not contain a lone surrogate (invalid UTF-16)"),
);

export const Id = v.pipe(
  v.string("expected a string id"),
  v.nonEmpty("must not be empty"),
  v.maxLength(128, "must be at most 128 characters"),
  storableText,
);

/** Text of at most `max` characters (`nonEmpty`: at least one). */
export const Text = (max: number, { nonEmpty = false } = {}) =>
  nonEmpty
    ? v.pipe(
        v.string("expected a string"),
        v.nonEmpty("must not be empty"),
        v.maxLength(max, `must be at most ${max} characters`),
        storableText,
      )
    : v.pipe(v.string("expected a string"), v.maxLength(max, `must be at most ${max} characters`), storableText);

// ISO-8601 with a zone: 2026-11-25T13:04:05.123Z or ...+01:00.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (year: number, month: number) =>
  month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : DAYS_IN_MONTH[month - 1]!;

/** The number the decimal digits of `text` from `from` to `to` (exclusive) spell. */
function digitsAt(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + text.charCodeAt(i) - 48;
  return n;
}

const isDigitAt = (text: string, i: number) => {
  const code = text.charCodeAt(i);
  return code >= 48 && code <= 57;
};

/**
 * Rejects 2026-02-31, 25:00 and offsets no zone has, which Date.parse may
 * roll over silently or Postgres refuses. `value` matched TIMESTAMP, so its
 * fields sit at known places: they are read there, digit by digit (every
 * event pays for this check; a second regex match and its strings cost more
 * than the rest of a record's contract).
 */
function timeProblem(value: string, latestMs: number): string | undefined {
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 7);
  const day = digitsAt(value, 8, 10);
  const hour = digitsAt(value, 11, 13);
  const minute = digitsAt(value, 14, 16);
  let at = 16;
  let second = 0;
  let millis = 0;
  if (value[at] === ":") {
    second = digitsAt(value, 17, 19);
    at = 19;
    if (value[at] === ".") {
      at++;
      // The first three digits of the fraction are the milliseconds: .5 is 500, .123456 is 123.
      for (let place = 0; place < 3; place++)
        millis = millis * 10 + (isDigitAt(value, at) ? value.charCodeAt(at++) - 48 : 0);
      while (isDigitAt(value, at)) at++;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59)
    return "is not a real date and time";
  let offsetMinutes = 0;
  const sign = value[at];
  if (sign !== "Z") {
    const offH = digitsAt(value, at + 1, at + 3);
    const offMFrom = value[at + 3] === ":" ? at + 4 : at + 3;
    const offM = digitsAt(value, offMFrom, offMFrom + 2);
    const minutes = offH * 60 + offM;
    const limit = sign === "+" ? ADMISSION.maxOffsetMinutes.ahead : ADMISSION.maxOffsetMinutes.behind;
    if (offM > 59 || minutes > limit) return "has a zone offset no zone has (from -12:00 to +14:00)";
    offsetMinutes = sign === "+" ? minutes : -minutes;
  }
  // Date.UTC reads years 0-99 as 1900-1999: all of them before 1970 either way.
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  if (ms < ADMISSION.earliestMs) return "is before 1970-01-01T00:00:00Z";
  if (ms > latestMs) return "is in the future (beyond now + MAX_CLOCK_SKEW_MS)";
  return undefined;
}

const time = (latestMs: () => number) =>
  v.pipe(
    v.string("expected an ISO-8601 time string"),
    v.regex(TIMESTAMP, "expected an ISO-8601 time with a zone, like 2026-11-25T13:04:05.123Z"),
    v.rawCheck(({ dataset, addIssue }) => {
      // Only a string the regex matched (without abortPipeEarly a failed match does not stop the pipe).
      const problem = dataset.typed && !dataset.issues ? timeProblem(dataset.value, latestMs()) : undefined;
      if (problem) addIssue({ message: problem });
    }),
  );

/** An event's time: from 1970 to now + the allowed clock skew. */
export const Timestamp = time(latestAdmissibleMs);

/** A calendar day, YYYY-MM-DD, that exists (2026-02-31 does not). */
export const Day = v.pipe(
  v.string("expected a day string"),
  v.regex(/^\d{4}-\d{2}-\d{2}$/, "expected a day as YYYY-MM-DD"),
  v.check((day) => {
    const date = new Date(`${day}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(day);
  }, "is not a real day"),
);

/** A time a query filters on (a range end may lie in the future). */
export const QueryTime = time(() => Infinity);

export const Amount = v.pipe(
  v.number("expected a number"),
  v.finite("must be finite"),
  v.minValue(0, "must not be negative"),
  v.maxValue(ADMISSION.maxAmount, `must be at most ${ADMISSION.maxAmount}`),
  // -0 is 0: JSON and every store say so anyway.
  v.transform((amount) => amount + 0),
);

/** A count or a partition number: a non-negative integer with a bound. */
export const Count = (max = 2 ** 31 - 1) =>
  v.pipe(
    v.number("expected a number"),
    v.integer("expected an integer"),
    v.minValue(0, "must not be negative"),
    v.maxValue(max, `must be at most ${max}`),
  );

/** A Kafka offset as a string (int64). */
export const Offset = v.pipe(v.string("expected an offset string"), v.regex(/^\d{1,19}$/, "expected an offset"));

/**
 * The object of a contract: unknown fields are dropped, a missing required
 * field is reported on that field as "is required".
 */
export const contract = <E extends v.ObjectEntries>(entries: E) =>
  v.object(entries, (issue) =>
    issue.input === undefined && issue.path?.length ? "is required" : "expected a JSON object",
  );

/** Optional fields may be absent or null. */
export const optionalText = (max = 2048) => v.nullish(Text(max));

/**
 * At most `max` items of `item`. The length is checked before any item, so
 * a huge array costs one error, not one per item.
 */
export const boundedArray = <S extends v.GenericSchema>(item: S, max: number, what: string) =>
  v.pipe(
    v.array(v.unknown(), `expected an array of ${what}`),
    v.maxLength(max, `at most ${max} ${what}`),
    v.array(item, `expected an array of ${what}`),
  );
