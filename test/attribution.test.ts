import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { upsertUsers } from "../db/users.ts";
import type { Checkout, Click } from "../infra/platform/contracts/commerce.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic } from "../infra/platform/topology.ts";
import { type AttributionTopics, attributedCheckoutsWorker, attributionWorker } from "../workers/attribution/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { createTestTopic, deleteTopics, eventually, testConfig, unique } from "./helpers.ts";

/**
 * The attribution rule through the real pipeline (broker, Redis state,
 * Postgres rows and user history, the API), with fixed event times.
 */

const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
const { sql } = deps;
const run = unique("attr");
const topics: AttributionTopics = {
  clicks: `test.${run}.clicks`,
  checkouts: `test.${run}.checkouts`,
  attributed: `test.${run}.attributed`,
};
const workers: RunningWorker[] = [];
const producer = await createProducer(config);
let key = "";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-06-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const user = (name: string) => `${run}-${name}`;
const click = (id: string, who: string, at: number, product = "p1"): OutRecord => ({
  topic: topics.clicks,
  key: user(who),
  value: {
    click_id: `${run}-${id}`,
    user_id: user(who),
    product_id: product,
    occurred_at: iso(at),
    url: `https://shop/${product}`,
  } satisfies Click,
});
const checkout = (id: string, who: string, at: number, product = "p1"): OutRecord => ({
  topic: topics.checkouts,
  key: user(who),
  value: {
    checkout_id: `${run}-${id}`,
    user_id: user(who),
    product_id: product,
    total_amount: 42.5,
    occurred_at: iso(at),
    payment_method: "card",
  } satisfies Checkout,
});

type Row = {
  checkout_id: string;
  click_id: string | null;
  clicked_at: Date | string | null;
  user_name: string | null;
  user_region: string | null;
  total_amount: string;
};
const rowsOf = async (ids: string[]) => {
  const rows = await sql<
    Row[]
  >`select * from attributed_checkouts where checkout_id = any(${ids.map((id) => `${run}-${id}`)})`;
  return new Map(rows.map((r) => [r.checkout_id.slice(run.length + 1), r]));
};
const clickOf = async (id: string) => (await rowsOf([id])).get(id)?.click_id?.slice(run.length + 1) ?? null;
const waitForRows = (ids: string[]) =>
  eventually(`rows for ${ids.join(", ")}`, async () => (await rowsOf(ids)).size === ids.length, 60_000);
const get = (path: string) => app.request(path, { headers: { authorization: `Bearer ${key}` } });

beforeAll(async () => {
  key = (await createApiKey(drizzle(sql), `${run}-p`, ["checkouts:read"])).key;
  for (const topic of Object.values(topics)) await createTestTopic(config, topic, 3);
  workers.push(await runWorker(attributionWorker(config, { name: `${run}-attribution`, topics }), config));
  workers.push(
    await runWorker(attributedCheckoutsWorker(config, { name: `${run}-rows`, topic: topics.attributed }), config),
  );
  const everyone = ["exact", "beyond", "two", "after", "repeat", "none", "renamed", "first", "within", "late"];
  await upsertUsers(
    sql,
    everyone.map((who) => ({
      user_id: user(who),
      username: who,
      name: `${who} (only version)`,
      region: "eu-west",
      updated_at: new Date(T0 - 24 * HOUR),
    })),
  );
  // "renamed" changes name twice: between its click and checkout, and after the checkout.
  await upsertUsers(sql, [
    {
      user_id: user("renamed"),
      username: "renamed",
      name: "After",
      region: "us-east",
      updated_at: new Date(T0 - 30 * 60_000),
    },
  ]);
  await upsertUsers(sql, [
    {
      user_id: user("renamed"),
      username: "renamed",
      name: "Later",
      region: "ap-south",
      updated_at: new Date(T0 + HOUR),
    },
  ]);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await producer.disconnect();
  await deleteTopics(
    config,
    Object.values(topics).flatMap((t) => [t, deadLetterTopic(t)]),
  );
  await closeApiDependencies(deps);
});

describe("checkout attribution, end to end with fixed times", () => {
  test("the rule: boundaries, earliest click, repeated checkouts, no click, the user as of the checkout", async () => {
    const clicks = [
      click("c-exact", "exact", T0 - HOUR),
      click("c-beyond", "beyond", T0 - HOUR - 1),
      click("c-two-1", "two", T0 - 30 * 60_000),
      click("c-two-2", "two", T0 - 10 * 60_000),
      click("c-after", "after", T0 + 1),
      click("c-repeat", "repeat", T0 - 20 * 60_000),
      click("c-renamed", "renamed", T0 - 40 * 60_000),
    ].sort((a, b) => Date.parse((a.value as Click).occurred_at) - Date.parse((b.value as Click).occurred_at));
    await producer.send(clicks);
    await producer.send([
      checkout("k-exact", "exact", T0),
      checkout("k-beyond", "beyond", T0),
      checkout("k-two", "two", T0),
      checkout("k-after", "after", T0),
      checkout("k-repeat-1", "repeat", T0 - 10 * 60_000),
      checkout("k-repeat-2", "repeat", T0),
      checkout("k-none", "none", T0),
      checkout("k-renamed", "renamed", T0),
    ]);
    const ids = ["k-exact", "k-beyond", "k-two", "k-after", "k-repeat-1", "k-repeat-2", "k-none", "k-renamed"];
    await waitForRows(ids);
    const rows = await rowsOf(ids);
    const attributed = Object.fromEntries(ids.map((id) => [id, rows.get(id)!.click_id?.slice(run.length + 1) ?? null]));
    expect(attributed).toEqual({
      "k-exact": "c-exact",
      "k-beyond": null,
      "k-two": "c-two-1",
      "k-after": null,
      "k-repeat-1": "c-repeat",
      "k-repeat-2": "c-repeat",
      "k-none": null,
      "k-renamed": "c-renamed",
    });
    expect(new Date(rows.get("k-exact")!.clicked_at!).toISOString()).toBe(iso(T0 - HOUR));
    expect(rows.get("k-renamed")!.user_name).toBe("After");
    expect(rows.get("k-renamed")!.user_region).toBe("us-east");
    expect(rows.get("k-none")!.user_name).toBe("none (only version)");
    expect(Number(rows.get("k-none")!.total_amount)).toBe(42.5);
  }, 90_000);

  test("a checkout read before the click that precedes it is corrected when the click arrives", async () => {
    await producer.send([checkout("k-first", "first", T0)]);
    await waitForRows(["k-first"]);
    expect(await clickOf("k-first")).toBeNull();
    await producer.send([click("c-first", "first", T0 - 5000)]);
    await eventually("the row to be corrected", async () => (await clickOf("k-first")) === "c-first", 60_000);
  }, 90_000);

  test("a click up to the allowance behind the click stream counts; beyond it, it does not", async () => {
    const ahead = T0 + 10 * 60_000;
    const allowance = config.CLICK_LATENESS_MS;
    await producer.send([
      click("c-within-ahead", "within", ahead, "other"),
      click("c-late-ahead", "late", ahead, "other"),
    ]);
    // Still open: a click not late (15 s behind the click stream's newest) could precede them.
    await producer.send([checkout("k-within", "within", ahead - 1000), checkout("k-late", "late", ahead - 1000)]);
    await waitForRows(["k-within", "k-late"]);
    await producer.send([
      click("c-within", "within", ahead - allowance),
      click("c-late", "late", ahead - allowance - 1),
      // A marker after the late click in the same partition: once its checkout is attributed, the late click was read.
      click("c-marker", "late", ahead, "marker"),
    ]);
    await producer.send([checkout("k-marker", "late", ahead + 1000, "marker")]);
    await eventually(
      "the within-allowance click to attribute",
      async () => (await clickOf("k-within")) === "c-within",
      60_000,
    );
    await eventually("the marker to be read", async () => (await clickOf("k-marker")) === "c-marker", 60_000);
    expect(await clickOf("k-late")).toBeNull();
  }, 90_000);

  test("GET /v1/checkouts/attributed filters by user, product, time and attribution, and pages by cursor", async () => {
    const page = async (query: string) =>
      (await (await get(`/v1/checkouts/attributed?${query}`)).json()) as {
        results: { checkout_id: string; click_id: string | null }[];
        next_cursor: string | null;
      };
    const repeat = await page(`user_id=${user("repeat")}`);
    expect(repeat.results.map((r) => r.checkout_id)).toEqual([`${run}-k-repeat-2`, `${run}-k-repeat-1`]);

    const first = await page(`user_id=${user("repeat")}&size=1`);
    expect(first.results.map((r) => r.checkout_id)).toEqual([`${run}-k-repeat-2`]);
    const second = await page(`user_id=${user("repeat")}&size=1&cursor=${first.next_cursor}`);
    expect(second.results.map((r) => r.checkout_id)).toEqual([`${run}-k-repeat-1`]);

    const window = await page(`user_id=${user("repeat")}&from=${iso(T0 - 15 * 60_000)}&to=${iso(T0)}`);
    expect(window.results.map((r) => r.checkout_id)).toEqual([`${run}-k-repeat-1`]);
    const unattributed = await page(`user_id=${user("none")}&attributed=false&product_id=p1`);
    expect(unattributed.results.map((r) => r.checkout_id)).toEqual([`${run}-k-none`]);
    expect((await page(`user_id=${user("none")}&attributed=true`)).results).toEqual([]);

    const bad = await get("/v1/checkouts/attributed?attributed=maybe&size=0&color=red");
    expect(bad.status).toBe(400);
    const fields = ((await bad.json()) as { errors: { field: string }[] }).errors.map((e) => e.field).sort();
    expect(fields).toEqual(["attributed", "color", "size"]);
  });
});
