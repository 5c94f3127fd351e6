import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { INGEST_ENDPOINTS } from "../api/http/ingest-endpoints.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { recordsIn, testConfig, unique } from "./helpers.ts";

const config = { ...testConfig(), INGEST_MAX_BATCH: 50, INGEST_MAX_BODY_BYTES: 64 * 1024 };
const deps = await connectApiDependencies(config);
const app = createApp(deps);
const partner = unique("partner");
let key = "";

beforeAll(async () => {
  key = (await createApiKey(drizzle(deps.sql), partner)).key;
});
afterAll(() => closeApiDependencies(deps));

const event = (overrides: Record<string, unknown> = {}) => ({
  event_id: unique("ev"),
  type: "page_view",
  user_id: unique("user"),
  partner_id: partner,
  occurred_at: new Date().toISOString(),
  ...overrides,
});

const post = (body: string | unknown, headers: Record<string, string> = { authorization: `Bearer ${key}` }) =>
  app.request("/v1/events", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

type ErrorBody = { error: string; message: string; errors?: { index: number; field: string; reason: string }[] };

describe("POST /v1/events", () => {
  test("a valid batch is produced keyed by user_id and answered 202 with counts after the ack", async () => {
    const before = await recordsIn(config, TOPIC.clickstream);
    const batch = [event(), event({ type: "purchase", cart_amount: 12.5 }), event({ category: ["shoes"] })];
    const response = await post(batch);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 3, topic: TOPIC.clickstream });
    expect(await recordsIn(config, TOPIC.clickstream)).toBe(before + 3);

    const single = await post(event());
    expect(single.status).toBe(202);
    expect(((await single.json()) as { accepted: number }).accepted).toBe(1);
  });

  test("bad input gets its status and a JSON error naming the problem; nothing is produced", async () => {
    const before = await recordsIn(config, TOPIC.clickstream);

    const noKey = await post([event()], {});
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as ErrorBody).message).toContain("missing API key");

    const wrongKey = await post([event()], { authorization: "Bearer cdp_not-a-key" });
    expect(wrongKey.status).toBe(401);
    expect(((await wrongKey.json()) as ErrorBody).message).toContain("unknown or revoked API key");

    const notJson = await post("{ this is not json");
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ErrorBody).error).toBe("invalid_json");

    const mixed = await post([
      event(),
      event({ type: 42, occurred_at: "yesterday" }),
      event(),
      (({ user_id, ...rest }) => rest)(event()),
    ]);
    expect(mixed.status).toBe(400);
    const mixedBody = (await mixed.json()) as ErrorBody;
    expect(mixedBody.error).toBe("invalid_events");
    expect(mixedBody.errors).toEqual([
      { index: 1, field: "type", reason: expect.stringContaining("expected one of") },
      { index: 1, field: "occurred_at", reason: expect.stringContaining("ISO-8601") },
      { index: 3, field: "user_id", reason: expect.any(String) },
    ]);

    const purchase = await post(event({ type: "purchase" }));
    expect(purchase.status).toBe(400);
    expect(((await purchase.json()) as ErrorBody).errors?.[0]).toMatchObject({ index: 0, field: "cart_amount" });

    const empty = await post([]);
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ErrorBody).error).toBe("empty_batch");

    const oversized = await post(
      [event({ search_query: "x".repeat(2000) })].concat(
        Array.from({ length: 40 }, () => event({ referrer: "y".repeat(2000) })),
      ),
    );
    expect(oversized.status).toBe(413);
    expect(((await oversized.json()) as ErrorBody).message).toContain("INGEST_MAX_BODY_BYTES");

    const tooMany = await post(Array.from({ length: 51 }, () => event()));
    expect(tooMany.status).toBe(413);
    expect(((await tooMany.json()) as ErrorBody).message).toContain("INGEST_MAX_BATCH=50");

    const otherPartner = await post([event(), event({ partner_id: "someone-else" })]);
    expect(otherPartner.status).toBe(403);
    expect(((await otherPartner.json()) as ErrorBody).errors).toEqual([
      { index: 1, field: "partner_id", reason: expect.stringContaining(partner) },
    ]);

    expect(await recordsIn(config, TOPIC.clickstream)).toBe(before);
  });
});

describe("every ingest endpoint", () => {
  test("answers 413 to a body over INGEST_MAX_BODY_BYTES and to a batch over INGEST_MAX_BATCH, producing nothing", async () => {
    const everyScope = (
      await createApiKey(drizzle(deps.sql), partner, ["events:write", "commerce:write", "content:write"])
    ).key;
    expect(INGEST_ENDPOINTS.length).toBe(5);
    for (const { path, topic } of INGEST_ENDPOINTS) {
      const before = await recordsIn(config, topic);
      const send = (body: string) =>
        app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${everyScope}` },
          body,
        });
      // Sizes are checked before the items: any JSON array will do.
      const big = await send(JSON.stringify(Array.from({ length: 40 }, () => ({ padding: "z".repeat(2000) }))));
      expect({ path, status: big.status }).toEqual({ path, status: 413 });
      expect(((await big.json()) as ErrorBody).message).toContain("INGEST_MAX_BODY_BYTES");
      const many = await send(JSON.stringify(Array.from({ length: 51 }, () => ({}))));
      expect({ path, status: many.status }).toEqual({ path, status: 413 });
      expect(((await many.json()) as ErrorBody).message).toContain("INGEST_MAX_BATCH=50");
      expect({ path, records: await recordsIn(config, topic) }).toEqual({ path, records: before });
    }
  });
});
