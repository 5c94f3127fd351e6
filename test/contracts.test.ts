import { describe, expect, test } from "bun:test";
import { ClickstreamEvent } from "../infra/contracts/clickstream.ts";
import { decodeJson, validate } from "../infra/contracts/validate.ts";

const valid = { event_id: "e1", type: "page_view", user_id: "u1", partner_id: "p1", occurred_at: "2026-11-25T13:04:05.123Z" };

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
    [{ ...valid, category: "shoes" }, "category", "expected an array of strings"],
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
