import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { recordsIn, testConfig, unique } from "./helpers.ts";

const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
let key = "";
beforeAll(async () => {
  key = (await createApiKey(drizzle(deps.sql), unique("shop"), ["commerce:write"])).key;
});
afterAll(() => closeApiDependencies(deps));

const post = (path: string, body: unknown, auth = true) =>
  app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });

const at = new Date().toISOString();
const click = (o: Record<string, unknown> = {}) => ({
  click_id: unique("c"),
  user_id: "u1",
  product_id: "p1",
  occurred_at: at,
  price: 19.99,
  url: "https://shop/p1",
  ...o,
});
const checkout = (o: Record<string, unknown> = {}) => ({
  checkout_id: unique("k"),
  user_id: "u1",
  product_id: "p1",
  total_amount: 19.99,
  occurred_at: at,
  payment_method: "card",
  ...o,
});

describe("POST /v1/clicks and /v1/checkouts", () => {
  test("valid batches are produced and answered 202 after the ack", async () => {
    const clicks = await recordsIn(config, TOPIC.clicks);
    const checkouts = await recordsIn(config, TOPIC.checkouts);
    expect((await post("/v1/clicks", [click(), click({ price: null })])).status).toBe(202);
    expect((await post("/v1/checkouts", checkout())).status).toBe(202);
    expect(await recordsIn(config, TOPIC.clicks)).toBe(clicks + 2);
    expect(await recordsIn(config, TOPIC.checkouts)).toBe(checkouts + 1);
  });

  test("an invalid item rejects the whole batch with its index and field; no key is a 401", async () => {
    const clicks = await recordsIn(config, TOPIC.clicks);
    const bad = await post("/v1/clicks", [click(), click({ product_id: "" })]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: unknown[] }).errors).toEqual([
      { index: 1, field: "product_id", reason: "must not be empty" },
    ]);
    const negative = await post("/v1/checkouts", [checkout({ total_amount: -5 })]);
    expect(negative.status).toBe(400);
    expect(((await negative.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe("total_amount");
    expect((await post("/v1/clicks", [click()], false)).status).toBe(401);
    expect(await recordsIn(config, TOPIC.clicks)).toBe(clicks);
  });
});
