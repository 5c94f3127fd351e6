import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ClickstreamEvent } from "../infra/platform/contracts/clickstream.ts";
import { Checkout } from "../infra/platform/contracts/commerce.ts";
import { ADMISSION, admittingUntil, Id } from "../infra/platform/contracts/fields.ts";
import { decodeJson, MAX_JSON_DEPTH, validate } from "../infra/platform/contracts/validate.ts";

const valid = {
  event_id: "e1",
  type: "page_view",
  user_id: "u1",
  partner_id: "p1",
  occurred_at: "2026-11-25T13:04:05.123Z",
};

describe("clickstream contract", () => {
  test("accepts the minimal event, optional fields absent or null, and ignores unknown fields", () => {
    const result = validate(ClickstreamEvent, { ...valid, country: null, category: ["a"], extra: { nested: true } });
    expect(result.ok).toBe(true);
    if (result.ok) expect("extra" in result.value).toBe(false);
  });

  test("accepts zone offsets", () => {
    expect(validate(ClickstreamEvent, { ...valid, occurred_at: "2026-11-25T13:04:05+01:00" }).ok).toBe(true);
  });

  test.each([
    [{ ...valid, type: "purchase" }, "cart_amount", "is required when type is purchase"],
    [{ ...valid, type: "purchase", cart_amount: -1 }, "cart_amount", "must not be negative"],
    [{ ...valid, type: "click" }, "type", "expected one of page_view"],
    [{ ...valid, occurred_at: "2026-11-25 13:04" }, "occurred_at", "expected an ISO-8601 time with a zone"],
    [{ ...valid, occurred_at: "2026-11-25T13:04:05" }, "occurred_at", "expected an ISO-8601 time with a zone"],
    [{ ...valid, occurred_at: "2026-02-31T13:04:05Z" }, "occurred_at", ""],
    [{ ...valid, user_id: "" }, "user_id", "must not be empty"],
    [{ ...valid, user_id: "x".repeat(129) }, "user_id", "at most 128"],
    [{ ...valid, event_id: 7 }, "event_id", "expected a string id"],
    [{ ...valid, category: "shoes" }, "category", "expected an array of categories"],
    [(({ partner_id, ...rest }) => rest)(valid), "partner_id", ""],
  ])("rejects %j naming %s", (input, field, reason) => {
    const result = validate(ClickstreamEvent, input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => e.field)).toContain(field);
      expect(result.errors.find((e) => e.field === field)?.reason).toContain(reason);
    }
  });

  test("a record that is not JSON, or a tombstone, is rejected with the reason", () => {
    const notJson = decodeJson(ClickstreamEvent, Buffer.from("{oops"));
    expect(!notJson.ok && notJson.errors[0]?.reason).toContain("invalid JSON");
    const tombstone = decodeJson(ClickstreamEvent, null);
    expect(!tombstone.ok && tombstone.errors[0]?.reason).toContain("tombstone");
  });
});

/** The field named by the first error, and its reason, or "ok". */
const verdict = (schema: Parameters<typeof validate>[0], value: unknown) => {
  const result = validate(schema, value);
  return result.ok ? "ok" : `${result.errors[0]!.field}: ${result.errors[0]!.reason}`;
};

describe("the admission rule (SPEC §3.7)", () => {
  test("strings: a NUL or a lone surrogate anywhere is refused, naming the field", () => {
    expect(verdict(ClickstreamEvent, { ...valid, user_id: "a\u0000b" })).toBe(
      "user_id: must not contain a NUL character",
    );
    expect(verdict(ClickstreamEvent, { ...valid, referrer: "x\ud800" })).toBe(
      "referrer: must not contain a lone surrogate (invalid UTF-16)",
    );
    expect(verdict(ClickstreamEvent, { ...valid, category: ["ok", "\udc00"] })).toBe(
      "category.1: must not contain a lone surrogate (invalid UTF-16)",
    );
    // Unknown fields are dropped from the event but kept in the raw record, so they must be storable too.
    expect(verdict(ClickstreamEvent, { ...valid, extra: { deep: ["fine", "n\u0000ul"] } })).toBe(
      "extra.deep.1: must not contain a NUL character",
    );
    expect(verdict(ClickstreamEvent, { ...valid, "k\u0000": 1 })).toContain("a field name must not contain a NUL");
    expect(verdict(ClickstreamEvent, { ...valid, user_id: "emoji 😀 and ümlauts" })).toBe("ok");
  });

  test("any string is an id exactly when it is 1 to 128 UTF-16 units, well formed and without NUL", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 140 }), (text) => {
        const expected = text.length >= 1 && text.length <= 128 && !text.includes("\u0000") && text.isWellFormed();
        expect(validate(Id, text).ok).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  test("times: from 1970 to now + the clock skew, with a zone offset that exists", () => {
    const at = (occurred_at: string) => verdict(ClickstreamEvent, { ...valid, occurred_at });
    expect(at("0000-01-01T00:00:00Z")).toBe("occurred_at: is before 1970-01-01T00:00:00Z");
    expect(at("1969-12-31T23:59:59.999Z")).toBe("occurred_at: is before 1970-01-01T00:00:00Z");
    expect(at("1970-01-01T00:00:00Z")).toBe("ok");
    expect(at("9999-12-31T00:00:00Z")).toBe("occurred_at: is in the future (beyond now + MAX_CLOCK_SKEW_MS)");
    expect(at("2026-01-01T00:00:00+23:59")).toBe("occurred_at: has a zone offset no zone has (from -12:00 to +14:00)");
    expect(at("2026-01-01T00:00:00+14:00")).toBe("ok");
    expect(at("2026-01-01T00:00:00-12:00")).toBe("ok");
    expect(at("2026-01-01T00:00:00-12:01")).toBe("occurred_at: has a zone offset no zone has (from -12:00 to +14:00)");
    expect(at("2026-01-01T00:00:00+05:60")).toBe("occurred_at: has a zone offset no zone has (from -12:00 to +14:00)");
    expect(at("2026-01-01T24:00:00Z")).toBe("occurred_at: is not a real date and time");
  });

  test("the instant a time is judged at is Date.parse's, in any zone and with any fraction", () => {
    const two = (n: number) => String(n).padStart(2, "0");
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1970, 0, 2), max: Date.UTC(2200, 0, 1) }),
        fc.integer({ min: -12 * 60, max: 14 * 60 }),
        fc.constantFrom("", ".5", ".12", ".123", ".123456789"),
        fc.boolean(),
        (utc, offset, fraction, colon) => {
          const local = new Date(utc + offset * 60_000).toISOString().slice(0, 19);
          const zone =
            offset === 0 && colon
              ? "Z"
              : `${offset < 0 ? "-" : "+"}${two(Math.floor(Math.abs(offset) / 60))}${colon ? ":" : ""}${two(Math.abs(offset) % 60)}`;
          const text = `${local}${fraction}${zone}`;
          const instant = Date.parse(text);
          const event = { ...valid, occurred_at: text };
          expect(admittingUntil(instant, () => validate(ClickstreamEvent, event).ok)).toBe(true);
          expect(admittingUntil(instant - 1, () => verdict(ClickstreamEvent, event))).toBe(
            "occurred_at: is in the future (beyond now + MAX_CLOCK_SKEW_MS)",
          );
        },
      ),
      { numRuns: 3000 },
    );
    const at = (occurred_at: string) => verdict(ClickstreamEvent, { ...valid, occurred_at });
    expect(at("2024-02-29T00:00:00Z")).toBe("ok");
    expect(at("2000-02-29T00:00:00Z")).toBe("ok");
    expect(at("2025-02-29T00:00:00Z")).toBe("occurred_at: is not a real date and time");
    expect(at("2100-02-29T00:00:00Z")).toBe("occurred_at: is not a real date and time");
    expect(at("2026-04-31T00:00:00Z")).toBe("occurred_at: is not a real date and time");
    expect(at("2026-13-01T00:00:00Z")).toBe("occurred_at: is not a real date and time");
    expect(at("2026-01-00T00:00:00Z")).toBe("occurred_at: is not a real date and time");
    expect(at("2026-01-01T00:00:60Z")).toBe("occurred_at: is not a real date and time");
    expect(at("2026-01-01T23:60:00Z")).toBe("occurred_at: is not a real date and time");
    expect(at("1969-12-31T23:30:00-01:00")).toBe("ok");
  });

  test("the future bound is the caller's now + skew: a record is judged as of when it was written", () => {
    const written = Date.parse("2026-06-01T12:00:00Z");
    const event = (offsetMs: number) => ({ ...valid, occurred_at: new Date(written + offsetMs).toISOString() });
    const skew = 60_000;
    expect(admittingUntil(written + skew, () => validate(ClickstreamEvent, event(skew)).ok)).toBe(true);
    expect(admittingUntil(written + skew, () => validate(ClickstreamEvent, event(skew + 1)).ok)).toBe(false);
    // Outside that scope the wall clock and the default skew apply again.
    expect(
      validate(ClickstreamEvent, {
        ...valid,
        occurred_at: new Date(Date.now() + ADMISSION.defaultClockSkewMs - 5000).toISOString(),
      }).ok,
    ).toBe(true);
  });

  test("amounts: finite, not negative, at most the bound; -0 is 0", () => {
    const checkout = { checkout_id: "k", user_id: "u", product_id: "p", occurred_at: valid.occurred_at };
    expect(verdict(Checkout, { ...checkout, total_amount: 1e308 })).toBe(
      `total_amount: must be at most ${ADMISSION.maxAmount}`,
    );
    expect(verdict(Checkout, { ...checkout, total_amount: ADMISSION.maxAmount })).toBe("ok");
    expect(verdict(Checkout, { ...checkout, total_amount: -1e-9 })).toBe("total_amount: must not be negative");
    const zero = validate(Checkout, { ...checkout, total_amount: -0 });
    expect(zero.ok && Object.is(zero.value.total_amount, 0)).toBe(true);
    expect(verdict(ClickstreamEvent, { ...valid, extra: [1, 2, Infinity] })).toBe("extra.2: must be finite");
  });

  test(`nesting deeper than ${MAX_JSON_DEPTH} levels is refused; a huge array costs one error, not one per item`, () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < MAX_JSON_DEPTH + 5; i++) deep = [deep];
    expect(verdict(ClickstreamEvent, { ...valid, extra: deep })).toContain(
      `nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
    const result = validate(ClickstreamEvent, { ...valid, category: new Array(500_000).fill(0) });
    expect(result.ok ? [] : result.errors).toEqual([{ field: "category", reason: "at most 50 categories" }]);
  });

  test("a JSON record with duplicate keys or __proto__ is read as JSON.parse reads it, and must still pass", () => {
    const text = `{"event_id":"e1","type":"page_view","user_id":"u1","user_id":"u2","partner_id":"p1","occurred_at":"${valid.occurred_at}","__proto__":{"admin":true}}`;
    const decoded = decodeJson(ClickstreamEvent, Buffer.from(text));
    expect(decoded.ok && decoded.value.user_id).toBe("u2");
    expect(decoded.ok && "admin" in decoded.value).toBe(false);
  });
});
