import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import * as v from "valibot";
import { acceptOf, UNDECIDED } from "../infra/platform/contracts/accept.ts";
import * as clickstream from "../infra/platform/contracts/clickstream.ts";
import * as commerce from "../infra/platform/contracts/commerce.ts";
import * as content from "../infra/platform/contracts/content.ts";
import { admittingUntil } from "../infra/platform/contracts/fields.ts";
import * as identity from "../infra/platform/contracts/identity.ts";
import * as members from "../infra/platform/contracts/members.ts";
import * as profiles from "../infra/platform/contracts/profiles.ts";
import * as social from "../infra/platform/contracts/social.ts";
import * as userinfo from "../infra/platform/contracts/userinfo.ts";

// The oracle is valibot itself: the accept path must say yes exactly when
// valibot does, with the same output (values and key order).

const NOW = Date.parse("2026-11-26T12:00:00Z");
const at = "2026-11-25T13:04:05.123Z";

/** Every schema the contract modules export. */
const isSchema = (value: unknown): value is v.GenericSchema =>
  typeof value === "object" &&
  value !== null &&
  (value as { kind?: unknown }).kind === "schema" &&
  typeof (value as { "~run"?: unknown })["~run"] === "function";
const schemas = Object.entries<unknown>({
  ...clickstream,
  ...commerce,
  ...content,
  ...identity,
  ...members,
  ...profiles,
  ...social,
  ...userinfo,
}).flatMap(([name, value]) => (isSchema(value) ? [[name, value] as const] : []));

const checkout = {
  checkout_id: "c1",
  user_id: "u1",
  product_id: "p1",
  total_amount: 12.5,
  occurred_at: at,
  payment_method: "card",
  shipping_address: "Main St 1",
  billing_address: null,
  user_agent: "Mozilla/5.0",
  ip_address: "10.0.0.1",
};
const user = { user_id: "u1", username: "ada", name: "Ada", email: null, region: "eu", gender: "f", updated_at: at };

/** Valid records with every field present, each beside its contract. */
const samples: [string, v.GenericSchema, Record<string, unknown>][] = [
  [
    "ClickstreamEvent",
    clickstream.ClickstreamEvent,
    {
      event_id: "e1",
      type: "purchase",
      user_id: "u1",
      anonymous_id: "a1",
      email_hash: "a".repeat(64),
      device_id: "d1",
      partner_id: "p1",
      occurred_at: at,
      session_id: "s1",
      partner_name: "Acme",
      country: "NL",
      language: "nl",
      version: "1.0",
      user_agent: "Mozilla/5.0",
      referrer: "https://example.com/",
      current_url: "https://shop.example.com/p/1",
      page_type: "product",
      category: ["shoes", "running"],
      search_query: "red shoes",
      cart_amount: 99.5,
      extra: { kept: "in the raw record only" },
    },
  ],
  ["Checkout", commerce.Checkout, checkout],
  [
    "Click",
    commerce.Click,
    {
      click_id: "k1",
      user_id: "u1",
      product_id: "p1",
      occurred_at: at,
      product: "Shoe",
      price: 0,
      url: "https://example.com/",
      user_agent: "Mozilla/5.0",
      ip_address: "10.0.0.1",
    },
  ],
  ["Attribution", commerce.Attribution, { checkout, click: { click_id: "k1", occurred_at: at, url: null } }],
  ["CapturedUser", content.CapturedUser, user],
  ["Beacon", content.Beacon, { user_id: "u1", occurred_at: at, device: "phone" }],
  [
    "Interaction",
    content.Interaction,
    { user_id: "u1", content_id: "c1", action: "opened", occurred_at: at, liked: true, shared: null },
  ],
  [
    "EnrichedInteraction",
    content.EnrichedInteraction,
    {
      user_id: "u1",
      content_id: "c1",
      action: "watched",
      occurred_at: at,
      liked: false,
      user,
      source_partition: 3,
      source_offset: "42",
    },
  ],
  [
    "User",
    social.User,
    {
      user_id: "u1",
      username: "ada",
      name: "Ada",
      joined_at: at,
      bio: "hi",
      location: "Lisbon",
      url: null,
      profile_image_url: "https://example.com/a.png",
      background_image_url: null,
    },
  ],
  ["TweetEvent", social.TweetEvent, { type: "created", tweet_id: "t1", user_id: "u1", occurred_at: at, text: "hello" }],
];

/** Values that sit on either side of some check: lengths, NUL, surrogates, times, bounds, types. */
const edges: unknown[] = [
  null,
  undefined,
  "",
  "x",
  "x".repeat(64),
  "x".repeat(128),
  "x".repeat(129),
  "a\0b",
  "\uD800",
  at,
  "2026-11-25T13:04:05+01:00",
  "2026-11-25T13:04:05+15:00",
  "2026-02-31T00:00:00Z",
  "2026-11-25 13:04",
  "1969-12-31T23:59:59Z",
  "2099-01-01T00:00:00Z",
  "a".repeat(64),
  "42",
  "-1",
  0,
  -0,
  -1,
  1.5,
  3,
  100_000,
  100_001,
  1_000_000_000,
  1_000_000_001,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  [],
  ["a"],
  ["a\0"],
  Array.from({ length: 51 }, () => "a"),
  {},
  { a: 1 },
  "purchase",
  "page_view",
  "opened",
  "deleted",
  user,
  { ...user, user_id: 7 },
];

/** Same answer, same output, keys in the same order. */
function expectAgreement(schema: v.GenericSchema, value: unknown) {
  admittingUntil(NOW, () => {
    const accepted = acceptOf(schema)(value);
    const parsed = v.safeParse(schema, value, { abortPipeEarly: true });
    expect(accepted === UNDECIDED ? "undecided" : "accepted").toBe(parsed.success ? "accepted" : "undecided");
    if (parsed.success) {
      expect(accepted).toStrictEqual(parsed.output);
      expect(JSON.stringify(accepted)).toBe(JSON.stringify(parsed.output));
    }
  });
}

describe("a contract's compiled accept path agrees with valibot", () => {
  test("the samples are valid and every contract module is covered", () => {
    expect(schemas.length).toBeGreaterThan(25);
    for (const [name, schema, sample] of samples) {
      const parsed = admittingUntil(NOW, () => v.safeParse(schema, sample));
      expect({ name, success: parsed.success }).toEqual({ name, success: true });
      expectAgreement(schema, sample);
    }
  });

  test("on each field of each sample set to each edge value, or removed", () => {
    let checked = 0;
    for (const [, schema, sample] of samples)
      for (const key of Object.keys(sample))
        for (const edge of edges) {
          const changed = { ...sample };
          if (edge === undefined) delete changed[key];
          else changed[key] = edge;
          expectAgreement(schema, changed);
          checked++;
        }
    expect(checked).toBe(samples.reduce((n, [, , sample]) => n + Object.keys(sample).length, 0) * edges.length);
  });

  test("on samples with up to four fields changed to anything", () => {
    const keys = [...new Set(samples.flatMap(([, , sample]) => Object.keys(sample)))];
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.array(fc.tuple(fc.constantFrom(...keys), fc.oneof(fc.constantFrom(...edges), fc.anything())), {
          maxLength: 4,
        }),
        ([, schema, sample], changes) => {
          const changed: Record<string, unknown> = { ...sample };
          for (const [key, value] of changes) changed[key] = value;
          expectAgreement(schema, changed);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("every exported contract, on any JSON value", () => {
    fc.assert(
      fc.property(fc.constantFrom(...schemas), fc.jsonValue(), ([, schema], value) => expectAgreement(schema, value)),
      { numRuns: 2000 },
    );
  });
});
