import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { createApp } from "../api/app.ts";
import { INGEST_TOPICS, type IngestTopics } from "../api/http/ingest-endpoints.ts";
import { apiKeyResolver, createApiKey, revokeApiKey } from "../api/http/keys.ts";
import { ALL_SCOPES, type Scope } from "../api/http/scopes.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { deadLetterTopic } from "../infra/platform/topology.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { createTestTopic, deleteTopics, eventually, profileTestTopics, testConfig, unique } from "./helpers.ts";

/**
 * The trust boundary between partners and between scopes (SPEC §3.8), through
 * the real API, broker, profile worker, Redis and OpenSearch.
 */

const config = testConfig();
const run = unique("tenancy");
const topics = profileTestTopics(run);
const ingestTopics: IngestTopics = { ...INGEST_TOPICS, events: topics.events };
const deps = await connectApiDependencies(config);
const app = createApp({ ...deps, ingestTopics });
const db = drizzle(deps.sql);
const [A, B, C] = [`${run}-a`, `${run}-b`, `${run}-c`];
const keys: Record<string, string> = {};
let worker: RunningWorker;

const call = (key: string, path: string, init: { method?: string; body?: unknown } = {}) =>
  app.request(path, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
const json = async <T = Record<string, unknown>>(response: Response) => (await response.json()) as T;

beforeAll(async () => {
  for (const partner of [A, B, C]) keys[partner] = (await createApiKey(db, partner)).key;
  // As many partitions as the API takes the events topic to have (TOPIC_PARTITIONS): it finds a profile by its partition.
  for (const topic of Object.values(topics)) await createTestTopic(config, topic, config.TOPIC_PARTITIONS);
  worker = await runWorker(profileWorker(config, { name: `${run}-profiles`, topics }), config);
});
afterAll(async () => {
  await worker.stop();
  await deleteTopics(
    config,
    Object.values(topics).flatMap((t) => [t, deadLetterTopic(t)]),
  );
  await closeApiDependencies(deps);
});

describe("partners", () => {
  test("another partner's events never change this partner's profile of the same user, and each key reads only its own", async () => {
    const victim = `${run}-victim`;
    const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();
    const fromB = [
      {
        event_id: `${run}-b1`,
        type: "purchase",
        cart_amount: 99,
        user_id: victim,
        partner_id: B,
        partner_name: "B shop",
        referrer: "https://b.example",
        country: "DE",
        occurred_at: at(1),
      },
      {
        event_id: `${run}-shared`,
        type: "page_view",
        user_id: victim,
        partner_id: B,
        country: "DE",
        occurred_at: at(2),
      },
    ];
    // A sends one event with the id B uses next, before B does: B's must still count.
    const fromA = [
      { event_id: `${run}-shared`, type: "page_view", user_id: victim, partner_id: A, occurred_at: at(3) },
      { event_id: `${run}-a1`, type: "page_view", user_id: victim, partner_id: A, country: "FR", occurred_at: at(4) },
    ];
    expect((await call(keys[A]!, "/v1/events", { method: "POST", body: fromA })).status).toBe(202);
    expect((await call(keys[B]!, "/v1/events", { method: "POST", body: fromB })).status).toBe(202);

    const profileOf = (partner: string) => call(keys[partner]!, `/v1/profiles/${victim}`);
    await eventually(
      "both partners' profiles",
      async () => (await profileOf(A)).status === 200 && (await profileOf(B)).status === 200,
    );
    const [a, b] = [await json(await profileOf(A)), await json(await profileOf(B))];
    expect(a).toMatchObject({
      partner_id: A,
      events_total: 2,
      total_purchases: 0,
      country: "FR",
      partner_name: null,
      referrer: null,
    });
    expect(b).toMatchObject({
      partner_id: B,
      events_total: 2,
      total_purchases: 99,
      country: "DE",
      partner_name: "B shop",
      referrer: "https://b.example",
    });
    expect((await profileOf(C)).status).toBe(404);

    type Page = { total: number; results: { user_id: string; partner_id: string; country: string | null }[] };
    const search = async (partner: string, query = "") =>
      json<Page>(await call(keys[partner]!, `/v1/search/profiles?size=100${query}`));
    await eventually(
      "search to see both profiles",
      async () => (await search(B, `&partner_id=${B}`)).total === 1 && (await search(A)).total === 1,
    );
    expect((await search(B, `&partner_id=${B}`)).results).toEqual([
      expect.objectContaining({ user_id: victim, partner_id: B, country: "DE" }),
    ]);
    expect((await search(A)).results).toEqual([
      expect.objectContaining({ user_id: victim, partner_id: A, country: "FR" }),
    ]);
    expect((await search(A, "&country=DE")).total).toBe(0);
    expect((await search(C)).total).toBe(0);
    expect((await call(keys[A]!, `/v1/search/profiles?partner_id=${B}`)).status).toBe(403);
  }, 90_000);

  test("an id cannot reach another key space: ids with separators and worker bookkeeping are plain unknown profiles", async () => {
    for (const id of ["offsets", `${A}:x`, "..%2F..", "%3A"]) {
      const response = await call(keys[A]!, `/v1/profiles/${encodeURIComponent(id)}`);
      expect([id, response.status]).toEqual([id, 404]);
    }
  });
});

describe("scopes", () => {
  /** Every route of the API and the scope it needs, with a request that would pass everything else. */
  const now = () => new Date().toISOString();
  const routes: { method: "GET" | "POST"; path: string; scope: Scope; body?: unknown }[] = [
    {
      method: "POST",
      path: "/v1/events",
      scope: "events:write",
      body: { event_id: `${run}-s`, type: "page_view", user_id: "u", partner_id: "PARTNER", occurred_at: now() },
    },
    {
      method: "POST",
      path: "/v1/clicks",
      scope: "commerce:write",
      body: { click_id: `${run}-c`, user_id: "u", product_id: "p", occurred_at: now() },
    },
    {
      method: "POST",
      path: "/v1/checkouts",
      scope: "commerce:write",
      body: { checkout_id: `${run}-k`, user_id: "u", product_id: "p", total_amount: 1, occurred_at: now() },
    },
    { method: "POST", path: "/v1/beacons", scope: "content:write", body: { user_id: "u", occurred_at: now() } },
    {
      method: "POST",
      path: "/v1/interactions",
      scope: "content:write",
      body: { user_id: "u", content_id: "c", action: "opened", occurred_at: now() },
    },
    { method: "GET", path: "/v1/profiles/u", scope: "profiles:read" },
    { method: "GET", path: "/v1/search/profiles", scope: "profiles:read" },
    { method: "GET", path: "/v1/checkouts/attributed", scope: "checkouts:read" },
    { method: "GET", path: "/v1/users/u", scope: "users:read" },
    { method: "GET", path: "/v1/search/users?q=x", scope: "users:read" },
    { method: "GET", path: "/v1/content/popular", scope: "content:read" },
    { method: "GET", path: "/v1/users/u/activity", scope: "content:read" },
  ];

  test("every route answers 403 to a key without its scope, and serves a key with it or with admin", async () => {
    expect(routes.length).toBe(12);
    expect(new Set(routes.map((r) => r.scope))).toEqual(new Set(ALL_SCOPES.filter((s) => s !== "admin")));
    for (const route of routes) {
      const others = ALL_SCOPES.filter((s) => s !== route.scope && s !== "admin");
      const partner = unique("scoped");
      const body = JSON.parse(JSON.stringify(route.body ?? null).replace("PARTNER", partner));
      const send = async (scopes: Scope[]) => {
        const { key } = await createApiKey(db, partner, scopes);
        const response = await call(key, route.path, {
          method: route.method,
          body: route.body === undefined ? undefined : body,
        });
        return { status: response.status, body: await response.text() };
      };
      const without = await send(others);
      expect([route.path, without.status, without.body]).toEqual([
        route.path,
        403,
        expect.stringContaining(`lacks the ${route.scope} scope`),
      ]);
      for (const scopes of [[route.scope], ["admin"]] as Scope[][]) {
        const allowed = await send(scopes);
        const outcome = [200, 202, 404].includes(allowed.status) ? "served" : `${allowed.status} ${allowed.body}`;
        expect([route.path, scopes, outcome]).toEqual([route.path, scopes, "served"]);
      }
    }
  }, 60_000);
});

describe("cost and abuse", () => {
  test("a key's requests beyond its rate get 429 with Retry-After; another key is not slowed", async () => {
    const limited = createApp({
      ...deps,
      ingestTopics,
      config: { ...config, RATE_LIMIT_PER_SECOND: 2, RATE_LIMIT_BURST: 5 },
    });
    const [first, second] = [
      (await createApiKey(db, unique("busy"))).key,
      (await createApiKey(db, unique("calm"))).key,
    ];
    const get = (key: string) => limited.request("/v1/profiles/u", { headers: { authorization: `Bearer ${key}` } });
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(first)).status);
    expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
    expect(statuses.slice(5)).toContain(429);
    const refused = await get(first);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: string }).error).toBe("rate_limited");
    expect((await get(second)).status).toBe(404);
  });

  test("tokens taken in leases never let a key spend more than its burst, its rate and 50 ms' worth", async () => {
    const perSecond = 200;
    const burst = 20;
    const limited = createApp({
      ...deps,
      ingestTopics,
      config: { ...config, RATE_LIMIT_PER_SECOND: perSecond, RATE_LIMIT_BURST: burst },
    });
    const key = (await createApiKey(db, unique("leased"))).key;
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: 120 }, () =>
        Promise.resolve(limited.request("/v1/profiles/u", { headers: { authorization: `Bearer ${key}` } })).then(
          (r) => r.status,
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const served = statuses.filter((s) => s === 404).length;
    expect(statuses.filter((s) => s !== 404 && s !== 429)).toEqual([]);
    expect(served).toBeGreaterThanOrEqual(burst);
    expect(served).toBeLessThanOrEqual(burst + Math.ceil(perSecond * (seconds + 0.05)));
  });

  test("guessed keys cost Postgres at most one query per lookup interval; malformed ones none; a revoked key stops within the cache time", async () => {
    let queries = 0;
    const counted = postgres(config.DATABASE_URL, { max: 2, onnotice: () => {}, debug: () => void queries++ });
    try {
      const resolve = apiKeyResolver(drizzle(counted), { ttlMs: 300, lookupEveryMs: 100 });
      const random = () => `cdp_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
      const malformed = await Promise.all(Array.from({ length: 500 }, (_, i) => resolve(`cdp_guess${i}`)));
      expect(new Set(malformed)).toEqual(new Set(["unknown"]));
      expect(queries).toBe(0);

      const started = performance.now();
      const guesses = await Promise.all(Array.from({ length: 2000 }, () => resolve(random())));
      const elapsed = performance.now() - started;
      expect(new Set(guesses)).toEqual(new Set(["unknown"]));
      // 2,000 guesses, one batched query per 100 ms interval (a batch holds up to 1,000 keys).
      expect(queries).toBeGreaterThanOrEqual(2);
      expect(queries).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);

      const partner = unique("revoked");
      const { key, prefix } = await createApiKey(db, partner);
      expect(await resolve(key)).toMatchObject({ partnerId: partner, scopes: ["events:write", "profiles:read"] });
      // A pattern is not a prefix: nothing is revoked by it.
      expect(await revokeApiKey(db, "%")).toBe(0);
      expect(await revokeApiKey(db, `${prefix.slice(0, 6)}%`)).toBe(0);
      expect(await resolve(key)).toMatchObject({ partnerId: partner });
      expect(await revokeApiKey(db, prefix)).toBe(1);
      await eventually("the revoked key to be refused", async () => (await resolve(key)) === "unknown", 5000);
    } finally {
      await counted.end();
    }
  });

  test("a key in use is looked up again before its cache time ends: after its first lookup no request waits for one", async () => {
    const resolve = apiKeyResolver(db, { ttlMs: 2000, lookupEveryMs: 100 });
    const partner = unique("in-use");
    const { key } = await createApiKey(db, partner);
    expect(await resolve(key)).toMatchObject({ partnerId: partner });
    // Over two and a half cache times. An answer from the cache settles within a few microtask turns; one
    // that waits for a query cannot, as the query's answer comes from the socket.
    const until = Date.now() + 5000;
    let calls = 0;
    let waited = 0;
    while (Date.now() < until) {
      let answered = false;
      const call = resolve(key).then((grant) => {
        answered = true;
        return grant;
      });
      for (let turn = 0; turn < 5; turn++) await null;
      calls++;
      if (!answered) waited++;
      expect(await call).toMatchObject({ partnerId: partner });
      await Bun.sleep(5);
    }
    expect(calls).toBeGreaterThan(100);
    expect(waited).toBe(0);
  });

  test("a wrong method gets 405 with Allow; an unknown path 404", async () => {
    const key = keys[A]!;
    const del = await call(key, "/v1/events", { method: "DELETE" });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("POST");
    const post = await call(key, `/v1/profiles/u`, { method: "POST", body: {} });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await app.request("/healthz", { method: "PUT" })).status).toBe(405);
    expect((await call(key, "/v1/nothing-here")).status).toBe(404);
  });

  test("a huge invalid batch gets at most 100 item errors and their count, quickly", async () => {
    const bad = Array.from({ length: 1000 }, () => ({
      event_id: "",
      type: "nope",
      user_id: "\u0000",
      partner_id: A,
      occurred_at: "0000-01-01T00:00:00Z",
    }));
    const response = await call(keys[A]!, "/v1/events", { method: "POST", body: bad });
    expect(response.status).toBe(400);
    const body = await json<{ errors: unknown[]; error_count: number }>(response);
    expect(body.errors.length).toBe(100);
    expect(body.error_count).toBe(4000);
    const category = await call(keys[A]!, "/v1/events", {
      method: "POST",
      body: {
        event_id: "e",
        type: "page_view",
        user_id: "u",
        partner_id: A,
        occurred_at: new Date().toISOString(),
        category: new Array(400_000).fill(0),
      },
    });
    expect(category.status).toBe(400);
    expect(await json(category)).toMatchObject({
      errors: [{ index: 0, field: "category", reason: "at most 50 categories" }],
      error_count: 1,
    });
  });
});
