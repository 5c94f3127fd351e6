import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { EVENT_TYPES } from "../infra/platform/contracts/clickstream.ts";
import { partitionOf } from "../infra/platform/kafka/partitioner.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import type { Profile } from "../workers/profiles/view.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { eventually, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * Events posted through the API reach the profile in Redis and in search with
 * exactly the values computed here, independently, from what was sent.
 */

const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
const run = unique("e2e");
const partners = [`${run}-pa`, `${run}-pb`];
const keys: Record<string, string> = {};
let worker: RunningWorker;

type Sent = {
  event_id: string;
  type: string;
  user_id: string;
  partner_id: string;
  occurred_at: string;
  session_id: string;
  country: string;
  cart_amount?: number;
  category: string[];
};

/** 30 users, 2 partners, shuffled times, some purchases, and every 10th event sent twice. */
function makeEvents(): Sent[] {
  const events: Sent[] = [];
  const base = Date.parse("2026-11-20T00:00:00.000Z");
  for (let u = 0; u < 30; u++) {
    const user = `${run}-u${u}`;
    const partner = partners[u % 2]!;
    const country = ["DE", "FR", "US"][u % 3]!;
    for (let i = 0; i < 8 + (u % 5); i++) {
      const type = EVENT_TYPES[(u + i) % EVENT_TYPES.length]!;
      events.push({
        event_id: `${user}-e${i}`,
        type,
        user_id: user,
        partner_id: partner,
        // Not in arrival order: later events may carry earlier times.
        occurred_at: new Date(base + ((i * 7919 + u * 104729) % 86_400) * 1000).toISOString(),
        session_id: `${user}-s${i % 3}`,
        country,
        category: [`cat${(u + i) % 4}`],
        ...(type === "purchase" ? { cart_amount: (u + 1) * 1.25 + i } : {}),
      });
    }
  }
  return events;
}

/** The profile fields a test can derive from the events without the fold. */
function expectedProfiles(events: Sent[]) {
  const byUser = new Map<string, Sent[]>();
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
  }
  return new Map(
    [...byUser].map(([user, list]) => {
      const times = list.map((e) => e.occurred_at).sort();
      const counts = Object.fromEntries(EVENT_TYPES.map((t) => [t, list.filter((e) => e.type === t).length]));
      return [
        user,
        {
          user_id: user,
          first_seen: times[0],
          last_visit: times[times.length - 1],
          total_purchases: list.reduce((sum, e) => sum + (e.type === "purchase" ? e.cart_amount! : 0), 0),
          event_counts: counts,
          events_total: list.length,
          sessions: new Set(list.map((e) => e.session_id)).size,
          is_new: list.length === 1,
          partner_id: list[0]!.partner_id,
          country: list[0]!.country,
        },
      ] as const;
    }),
  );
}

const events = makeEvents();
const sent = [...events, ...events.filter((_, i) => i % 10 === 0)];
const expected = expectedProfiles(events);

const request = (path: string, partner: string, init: RequestInit = {}) =>
  app.request(path, {
    ...init,
    headers: { authorization: `Bearer ${keys[partner]}`, "content-type": "application/json" },
  });

beforeAll(async () => {
  for (const p of partners) keys[p] = (await createApiKey(drizzle(deps.sql), p)).key;
  await skipToEnd(config, "profiles", [TOPIC.clickstream, TOPIC.identityChanges]);
  worker = await runWorker(profileWorker(config), config);
});
afterAll(async () => {
  await worker.stop();
  await closeApiDependencies(deps);
});

describe("clickstream to profiles, end to end", () => {
  test("events posted through the API appear in the profile with exactly the expected values", async () => {
    for (const partner of partners) {
      const mine = sent.filter((e) => e.partner_id === partner);
      for (let i = 0; i < mine.length; i += 100) {
        const response = await request("/v1/events", partner, {
          method: "POST",
          body: JSON.stringify(mine.slice(i, i + 100)),
        });
        expect(response.status).toBe(202);
      }
    }

    expect(expected.size).toBeGreaterThan(10);
    await eventually(
      "every profile to count all its events",
      async () => {
        for (const [user, want] of expected) {
          const response = await request(`/v1/profiles/${user}`, want.partner_id);
          if (response.status !== 200 || ((await response.json()) as Profile).events_total !== want.events_total)
            return false;
        }
        return true;
      },
      90_000,
    );

    for (const [user, want] of expected) {
      const profile = (await (await request(`/v1/profiles/${user}`, want.partner_id)).json()) as Profile;
      expect(profile).toMatchObject({ ...want, total_purchases: expect.closeTo(want.total_purchases, 9) });
    }
  }, 120_000);

  test("a lookup sends the answer the worker stored, with an ETag, and 304 to If-None-Match", async () => {
    const [user, want] = [...expected][1]!;
    const redis = deps.redis;
    // The layout spelled out: the user's partition of clickstream.events as a hash tag, then the percent-encoded ids.
    const responseKey = `response:profile:{p${partitionOf(user, config.TOPIC_PARTITIONS)}}:${encodeURIComponent(want.partner_id)}:${encodeURIComponent(user)}`;
    const stored = await redis.getBuffer(responseKey);
    expect(stored).not.toBeNull();
    const newline = (stored as Buffer).indexOf(10);
    const first = await request(`/v1/profiles/${user}`, want.partner_id);
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag");
    expect(etag).toBe((stored as Buffer).toString("utf8", 0, newline));
    expect(first.headers.get("cache-control")).toBe(config.LOOKUP_CACHE_CONTROL);
    expect(first.headers.get("vary")).toBe("Authorization");
    // The stored bytes, sent as they are.
    expect(Buffer.from(await first.arrayBuffer()).equals((stored as Buffer).subarray(newline + 1))).toBe(true);

    const again = await app.request(`/v1/profiles/${user}`, {
      headers: { authorization: `Bearer ${keys[want.partner_id]}`, "if-none-match": etag as string },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");

    // A profile committed before answers were stored has none: it is answered from its state, the same bytes.
    expect(await redis.del(responseKey)).toBe(1);
    const fromState = await request(`/v1/profiles/${user}`, want.partner_id);
    expect(fromState.headers.get("etag")).toBe(etag);
    expect(Buffer.from(await fromState.arrayBuffer()).equals((stored as Buffer).subarray(newline + 1))).toBe(true);

    // A new event for the user: a new answer, a new ETag, and the old one no longer matches.
    const event = { ...events.find((e) => e.user_id === user)!, event_id: `${user}-again` };
    expect((await request("/v1/events", want.partner_id, { method: "POST", body: JSON.stringify(event) })).status).toBe(
      202,
    );
    const changed = await eventually("the profile to count the new event", async () => {
      const r = await app.request(`/v1/profiles/${user}`, {
        headers: { authorization: `Bearer ${keys[want.partner_id]}`, "if-none-match": etag as string },
      });
      return r.status === 200 ? r : undefined;
    });
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(((await changed.json()) as Profile).events_total).toBe(want.events_total + 1);
  });

  test("a partner reads only its own users' profiles", async () => {
    const [user, want] = [...expected][0]!;
    const other = partners.find((p) => p !== want.partner_id)!;
    expect((await request(`/v1/profiles/${user}`, want.partner_id)).status).toBe(200);
    expect((await request(`/v1/profiles/${user}`, other)).status).toBe(404);
    expect((await request(`/v1/profiles/${run}-nobody`, want.partner_id)).status).toBe(404);
  });

  test("search filters on exact fields and ranges, sorts and pages, within the caller's partner", async () => {
    const partner = partners[0]!;
    const mine = [...expected.values()].filter((p) => p.partner_id === partner);
    const wanted = mine
      .filter((p) => p.country === "DE" && p.total_purchases >= 5)
      .sort((a, b) => b.total_purchases - a.total_purchases || a.user_id.localeCompare(b.user_id));
    expect(wanted.length).toBeGreaterThan(1);

    type Page = { total: number; results: Profile[] };
    const query = `country=DE&total_purchases_min=5&sort=total_purchases&order=desc&size=2`;
    const first = await eventually("search to see the indexed profiles", async () => {
      const page = (await (await request(`/v1/search/profiles?${query}&page=1`, partner)).json()) as Page;
      return page.total === wanted.length ? page : undefined;
    });
    expect(first.results.map((p) => p.user_id)).toEqual(wanted.slice(0, 2).map((p) => p.user_id));
    const second = (await (await request(`/v1/search/profiles?${query}&page=2`, partner)).json()) as Page;
    expect(second.results.map((p) => p.user_id)).toEqual(wanted.slice(2, 4).map((p) => p.user_id));

    const lastVisitTo = mine.map((p) => p.last_visit!).sort()[4]!;
    const inRange = (await (
      await request(`/v1/search/profiles?last_visit_to=${lastVisitTo}&size=100`, partner)
    ).json()) as Page;
    expect(inRange.results.map((p) => p.user_id).sort()).toEqual(
      mine
        .filter((p) => p.last_visit! <= lastVisitTo)
        .map((p) => p.user_id)
        .sort(),
    );

    const category = (await (await request(`/v1/search/profiles?category=cat1&size=100`, partner)).json()) as Page;
    // Every profile keeps its 20 newest categories, and these users browse at most 4: any event in cat1 puts it there.
    const withCat1 = [
      ...new Set(events.filter((e) => e.partner_id === partner && e.category.includes("cat1")).map((e) => e.user_id)),
    ].sort();
    expect(withCat1.length).toBeGreaterThan(0);
    expect(category.results.map((p) => p.user_id).sort()).toEqual(withCat1);
    expect(category.results.filter((p) => p.partner_id !== partner)).toEqual([]);

    const foreign = await request(`/v1/search/profiles?partner_id=${partners[1]}`, partner);
    expect(foreign.status).toBe(403);
    const unknown = await request(`/v1/search/profiles?q=*&script=x`, partner);
    expect(unknown.status).toBe(400);
    const badRange = await request(`/v1/search/profiles?total_purchases_min=-3`, partner);
    expect(badRange.status).toBe(400);
  });
});
