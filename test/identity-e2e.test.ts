import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { clickstreamKey } from "../infra/platform/contracts/clickstream.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic, TOPIC } from "../infra/platform/topology.ts";
import { clickstreamGenerator } from "../infra/tools/datagen/clickstream.ts";
import { identityWorker } from "../workers/identities/worker.ts";
import { personsWorker, profileWorker } from "../workers/profiles/worker.ts";
import { rebuild } from "../workers/rebuild.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import {
  canonicalOf,
  type Expected,
  expectedGroups,
  expectedProfiles,
  type Id,
  refs,
  type Sent,
} from "./fixtures/identity-expected.ts";
import { eventually, groupLag, skipToEnd, tailTopic, testConfig, unique } from "./helpers.ts";

/**
 * Clickstream events with identify events among them, posted through the
 * API, build each partner's identity graph and unified profiles: every
 * identifier's group, read back through the API, equals the connected
 * component union-find computes here over the identify events sent; the
 * profile any identifier reads sums the events of its whole group, computed
 * here from what was sent; search finds each person once; a link that
 * would give a person a second user_id is refused to the dead-letter topic
 * and changes nothing.
 */

const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
const run = unique("ids");
const partners = [`${run}-pa`, `${run}-pb`];
const keys: Record<string, string> = {};
const workers: RunningWorker[] = [];

let seq = 0;
const at = (minute: number) => new Date(Date.parse("2026-11-20T08:00:00.000Z") + minute * 60_000).toISOString();
const sha = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");
const country = `c${run.replace(/[^a-z0-9]/g, "").slice(-12)}`;
const event = (
  partner: string,
  type: string,
  ids: Partial<Record<Id["type"], string>>,
  minute: number,
  extra: Record<string, unknown> = {},
): Sent => ({
  event_id: `${run}-e${++seq}`,
  type,
  partner_id: partner,
  occurred_at: at(minute),
  country,
  ...ids,
  ...extra,
});

/** Per partner: logins after anonymous browsing, people on two devices, one shared device; the same values in both partners, linked differently. */
function phaseOne(): Sent[] {
  const events: Sent[] = [];
  for (const [p, partner] of partners.entries()) {
    for (let i = 0; i < 8; i++) {
      const anon = `${run}-a${i}`;
      // Partner B links anonymous id i to user i+1: the same values, another graph.
      const user = `${run}-u${(i + p) % 8}`;
      // One session: browsing anonymously, logging in, buying.
      const session = { session_id: `${anon}-s` };
      for (let n = 0; n < 3; n++)
        events.push(
          event(partner, "page_view", { anonymous_id: anon }, i * 10 + n, { ...session, category: [`k${n}`] }),
        );
      events.push(event(partner, "identify", { user_id: user, anonymous_id: anon }, i * 10 + 4, session));
      events.push(
        event(partner, "purchase", { user_id: user, anonymous_id: anon }, i * 10 + 5, {
          ...session,
          cart_amount: i + 0.25,
        }),
      );
    }
    for (let j = 0; j < 4; j++) {
      const user = `${run}-m${j}`;
      events.push(
        event(
          partner,
          "identify",
          { user_id: user, anonymous_id: `${run}-phone${j}`, device_id: `${run}-d${j}` },
          100 + j,
        ),
      );
      events.push(
        event(
          partner,
          "identify",
          { anonymous_id: `${run}-laptop${j}`, email_hash: sha(`${user}@example.com`) },
          110 + j,
        ),
      );
      events.push(event(partner, "page_view", { anonymous_id: `${run}-laptop${j}` }, 115 + j, { session_id: `l${j}` }));
      events.push(event(partner, "page_view", { anonymous_id: `${run}-phone${j}` }, 90 + j, { session_id: `p${j}` }));
      // The email links the laptop to the person on the phone.
      events.push(event(partner, "identify", { user_id: user, email_hash: sha(`${user}@example.com`) }, 120 + j));
    }
    events.push(event(partner, "identify", { user_id: `${run}-alice`, device_id: `${run}-shared` }, 130));
    events.push(event(partner, "page_view", { user_id: `${run}-bob` }, 131));
    events.push(event(partner, "page_view", { anonymous_id: `${run}-lurker` }, 132));
  }
  return events;
}

const request = (path: string, partner: string, init: RequestInit = {}) =>
  app.request(path, {
    ...init,
    headers: { authorization: `Bearer ${keys[partner]}`, "content-type": "application/json" },
  });

async function post(events: Sent[]) {
  for (const partner of partners) {
    const mine = events.filter((e) => e.partner_id === partner);
    if (mine.length === 0) continue;
    const response = await request("/v1/events", partner, { method: "POST", body: JSON.stringify(mine) });
    expect(response.status).toBe(202);
  }
}

type Identities = { canonical_id: Id; identifiers: Id[] };
const identities = async (partner: string, id: Id) => {
  const response = await request(`/v1/profiles/${encodeURIComponent(id.value)}/identities?id_type=${id.type}`, partner);
  return response.status === 200 ? ((await response.json()) as Identities) : response.status;
};

type Answer = Expected & { identifiers: Id[] };
const profile = async (partner: string, id: Id) => {
  const response = await request(`/v1/profiles/${encodeURIComponent(id.value)}?id_type=${id.type}`, partner);
  return response.status === 200 ? ((await response.json()) as Answer) : response.status;
};
const fieldsOf = (answer: Answer): Expected => ({
  identifiers: refs(answer.identifiers),
  events_total: answer.events_total,
  total_purchases: Math.round(answer.total_purchases * 100) / 100,
  first_seen: answer.first_seen,
  last_visit: answer.last_visit,
  sessions: answer.sessions,
});

/** The three workers of the pipeline, under this run's names. */
const pipeline = () =>
  [
    profileWorker(config, { name: `${run}-profiles` }),
    identityWorker(config, { name: `${run}-identities` }),
    personsWorker(config, { name: `${run}-persons` }),
  ] as const;

beforeAll(async () => {
  for (const p of partners) keys[p] = (await createApiKey(drizzle(deps.sql), p)).key;
  const [profiles, graph, persons] = pipeline();
  for (const worker of [profiles, graph, persons]) await skipToEnd(config, worker.name, worker.inputs as string[]);
  workers.push(await runWorker(profiles, config), await runWorker(graph, config), await runWorker(persons, config));
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await closeApiDependencies(deps);
});

describe("identity graph, end to end", () => {
  const sent = phaseOne();
  const expected = expectedGroups(sent, partners);
  const profiles = expectedProfiles(sent, expected);

  test("every identifier's group read through the API equals union-find's component over the identify events", async () => {
    // Every fifth event sent twice: counted once.
    await post([...sent, ...sent.filter((_, i) => i % 5 === 0)]);
    const cases = [...expected].flatMap(([partner, memberOf]) =>
      [...memberOf].map(([ref, group]) => ({
        partner,
        id: group.find((id) => `${id.type}:${id.value}` === ref)!,
        group,
      })),
    );
    expect(cases.length).toBe(2 * (8 * 2 + 4 * 5 + 2));
    await eventually(
      "every identifier's group",
      async () => {
        for (const { partner, id, group } of cases) {
          const answer = await identities(partner, id);
          if (typeof answer === "number" || answer.identifiers.length !== group.length) return false;
        }
        return true;
      },
      90_000,
    );
    const groups = new Set<string>();
    for (const { partner, id, group } of cases) {
      const answer = (await identities(partner, id)) as Identities;
      expect(refs(answer.identifiers)).toEqual(refs(group));
      expect(answer.canonical_id).toEqual(canonicalOf(group)!);
      groups.add(`${partner} ${answer.canonical_id.type}:${answer.canonical_id.value}`);
    }
    console.log(
      `identity e2e: ${groups.size} groups, ${cases.length} identifiers in ${partners.length} partners: equal to union-find's components`,
    );
    // The same values, linked otherwise in partner B: each partner reads its own graph.
    const a0 = { type: "anonymous_id", value: `${run}-a0` } as const;
    expect(((await identities(partners[0]!, a0)) as Identities).canonical_id.value).toBe(`${run}-u0`);
    expect(((await identities(partners[1]!, a0)) as Identities).canonical_id.value).toBe(`${run}-u1`);
  }, 120_000);

  test("an identifier never linked is a group of one if its profile exists, else 404", async () => {
    const bob = { type: "user_id", value: `${run}-bob` } as const;
    expect(await identities(partners[0]!, bob)).toEqual({ canonical_id: bob, identifiers: [bob] });
    expect(await identities(partners[0]!, { type: "device_id", value: `${run}-nobody` })).toBe(404);
    const bad = await request(`/v1/profiles/${run}-bob/identities?id_type=phone`, partners[0]!);
    expect(bad.status).toBe(400);
  });

  test("the profile any identifier reads is its person's: the events of all its identifiers, each once", async () => {
    const cases = [...profiles].flatMap(([person, want]) =>
      want.identifiers.map((ref) => {
        const at = ref.indexOf(":");
        const id = { type: ref.slice(0, at), value: ref.slice(at + 1) } as Id;
        return { partner: person.slice(0, person.indexOf(" ")), id, want };
      }),
    );
    expect(cases.length).toBe(2 * (8 * 2 + 4 * 5 + 2 + 1 + 1));
    await eventually(
      "every identifier to read its person's whole profile",
      async () => {
        for (const { partner, id, want } of cases) {
          const answer = await profile(partner, id);
          if (typeof answer === "number" || answer.events_total !== want.events_total) return false;
        }
        return true;
      },
      90_000,
    );
    for (const { partner, id, want } of cases) {
      const answer = await profile(partner, id);
      expect(typeof answer === "number" ? answer : fieldsOf(answer)).toEqual({
        ...want,
        total_purchases: Math.round(want.total_purchases * 100) / 100,
      });
    }
    const people = new Set(cases.map((c) => `${c.partner} ${c.want.identifiers.join(",")}`));
    console.log(
      `identity e2e: ${people.size} people's profiles read by all ${cases.length} of their identifiers equal the sums over their identifiers' events`,
    );
  }, 120_000);

  test("search finds each person once, with all its identifiers", async () => {
    const mine = [...profiles].filter(([person]) => person.startsWith(`${partners[0]} `));
    expect(mine.length).toBe(8 + 4 + 3);
    const found = await eventually(
      "search to hold each person once",
      async () => {
        const response = await request(`/v1/search/profiles?country=${country}&size=100`, partners[0]!);
        const body = (await response.json()) as { total: number; results: Answer[] };
        return body.total === mine.length ? body.results : undefined;
      },
      60_000,
    );
    expect(found.map((r) => refs(r.identifiers).join(",")).sort()).toEqual(
      mine.map(([, want]) => want.identifiers.join(",")).sort(),
    );
  }, 90_000);

  test("an anonymous id never linked reads its own profile", async () => {
    const lurker = (await profile(partners[0]!, { type: "anonymous_id", value: `${run}-lurker` })) as Answer;
    expect(lurker).toMatchObject({ user_id: null, anonymous_id: `${run}-lurker`, events_total: 1 });
    expect(await profile(partners[0]!, { type: "device_id", value: `${run}-nobody` })).toBe(404);
  });

  test("a shared device linked to a second user is refused with the limit it breaks, and no group changes", async () => {
    const dlq = await tailTopic(config, deadLetterTopic(TOPIC.identityLinks));
    try {
      const conflict = event(partners[0]!, "identify", { user_id: `${run}-bob`, device_id: `${run}-shared` }, 140);
      await post([conflict]);
      const refused = await eventually("the refused link in identity.links.dlq", async () =>
        dlq.records.find((r) => r.value.includes(conflict.event_id as string)),
      );
      expect(refused.headers["dlq.reason"]).toBe(
        `identity limit: linking would give one person 2 user_id (limit 1): user_id:${run}-alice, user_id:${run}-bob`,
      );
      const shared = (await identities(partners[0]!, { type: "device_id", value: `${run}-shared` })) as Identities;
      expect(refs(shared.identifiers)).toEqual([`device_id:${run}-shared`, `user_id:${run}-alice`]);
      const bob = { type: "user_id", value: `${run}-bob` } as const;
      expect(await identities(partners[0]!, bob)).toEqual({ canonical_id: bob, identifiers: [bob] });
      console.log(`identity e2e: refused "${refused.headers["dlq.reason"]}"`);
    } finally {
      await dlq.stop();
    }
  }, 90_000);

  test("after a datagen run, the groups equal union-find's over the identify events not refused, and each refusal breaks a limit", async () => {
    const dlq = await tailTopic(config, deadLetterTopic(TOPIC.identityLinks));
    const generator = clickstreamGenerator({ users: 400, partners: 2, seed: 18, runId: `${run}-dg` });
    const generated = Array.from({ length: 30_000 }, () => generator.next());
    const producer = await createProducer(config);
    try {
      for (let i = 0; i < generated.length; i += 5000)
        await producer.send(
          generated
            .slice(i, i + 5000)
            .map((value) => ({ topic: TOPIC.clickstream, key: clickstreamKey(value), value })),
        );
      const [profiles, graph] = pipeline();
      await eventually(
        "the profile and identity workers to catch up",
        async () =>
          (await groupLag(config, profiles.name, profiles.inputs)) === 0 &&
          (await groupLag(config, graph.name, graph.inputs)) === 0,
        120_000,
      );
      const linking = generated.filter((e) => e.type === "identify") as Sent[];
      const refusals = new Map(
        dlq.records.map((r) => [(JSON.parse(r.value) as { event_id: string }).event_id, r.headers["dlq.reason"]!]),
      );
      const accepted = linking.filter((e) => !refusals.has(e.event_id as string));
      const dgPartners = [...new Set(generated.map((e) => e.partner_id))];
      const groups = expectedGroups(accepted, dgPartners);
      const cases = [...groups].flatMap(([partner, memberOf]) =>
        [...memberOf].map(([ref, group]) => ({ partner, ref, group })),
      );
      expect(linking.length).toBeGreaterThan(500);
      expect(refusals.size).toBeGreaterThan(0);
      expect(cases.length).toBeGreaterThan(1000);
      for (const p of dgPartners) keys[p] ??= (await createApiKey(drizzle(deps.sql), p)).key;
      let differing = 0;
      for (const { partner, ref, group } of cases) {
        const id = { type: ref.slice(0, ref.indexOf(":")), value: ref.slice(ref.indexOf(":") + 1) } as Id;
        const answer = await identities(partner, id);
        if (typeof answer === "number" || refs(answer.identifiers).join(",") !== refs(group).join(",")) differing++;
      }
      // A refused link joins groups (as they ended) holding two user_ids: a shared device's second user.
      for (const [eventId, reason] of refusals) {
        const link = linking.find((e) => e.event_id === eventId)!;
        expect(reason).toStartWith("identity limit: linking would give one person 2 user_id (limit 1)");
        expect(String(link.device_id)).toContain("-shared-device-");
        const memberOf = groups.get(link.partner_id)!;
        const users = new Set(
          (["user_id", "email_hash", "device_id", "anonymous_id"] as const)
            .filter((t) => typeof link[t] === "string")
            .flatMap((t) => memberOf.get(`${t}:${link[t]}`) ?? [{ type: t, value: link[t] as string }])
            .filter((m) => m.type === "user_id")
            .map((m) => m.value),
        );
        expect(users.size).toBeGreaterThan(1);
      }
      console.log(
        `identity e2e: datagen run of ${generated.length} events, ${linking.length} identify, ${refusals.size} refused (shared devices), ${cases.length} identifiers in ${new Set(cases.map((c) => c.group)).size} groups: ${differing} differing from union-find's`,
      );
      expect(differing).toBe(0);

      // Each person's profile, read by its canonical id, sums its identifiers' events.
      const persons = expectedProfiles(generated as Sent[], groups);
      let profilesDiffering = 0;
      for (const [person, want] of persons) {
        const partner = person.slice(0, person.indexOf(" "));
        const group = want.identifiers.map((ref) => {
          const at = ref.indexOf(":");
          return { type: ref.slice(0, at), value: ref.slice(at + 1) } as Id;
        });
        const answer = await eventually(
          `${person}'s profile`,
          async () => {
            const got = await profile(partner, canonicalOf(group)!);
            return typeof got !== "number" && got.events_total === want.events_total ? got : undefined;
          },
          30_000,
        ).catch(() => undefined);
        const same =
          answer !== undefined &&
          Math.abs(answer.total_purchases - want.total_purchases) < 1e-6 &&
          answer.first_seen === want.first_seen &&
          answer.last_visit === want.last_visit &&
          refs(answer.identifiers).join(",") === want.identifiers.join(",");
        if (!same) profilesDiffering++;
      }
      console.log(
        `identity e2e: datagen run: ${persons.size} people's profiles (events, purchases, first and last visit, identifiers): ${profilesDiffering} differing from the sums over their identifiers' events`,
      );
      expect(persons.size).toBeGreaterThan(300);
      expect(profilesDiffering).toBe(0);
    } finally {
      await producer.disconnect();
      await dlq.stop();
    }
  }, 300_000);

  test("a rebuild of the graph, the profiles and the persons from the topics gives the same groups and profiles", async () => {
    const before = new Map<string, unknown>();
    const ids = [...profiles].flatMap(([person, want]) =>
      want.identifiers.map((ref) => ({ partner: person.slice(0, person.indexOf(" ")), ref })),
    );
    expect(ids.length).toBeGreaterThan(70);
    const read = async ({ partner, ref }: { partner: string; ref: string }) => {
      const id = { type: ref.slice(0, ref.indexOf(":")), value: ref.slice(ref.indexOf(":") + 1) } as Id;
      const answer = await profile(partner, id);
      return {
        profile: typeof answer === "number" ? answer : fieldsOf(answer),
        identities: await identities(partner, id),
      };
    };
    for (const id of ids) before.set(`${id.partner} ${id.ref}`, await read(id));
    for (const worker of workers.splice(0)) await worker.stop();
    const [profilesAgain, graphAgain, personsAgain] = pipeline();
    await rebuild(config, graphAgain, () => {});
    await rebuild(config, profilesAgain, () => {});
    await rebuild(config, personsAgain, () => {});
    let differing = 0;
    for (const id of ids) if (!Bun.deepEquals(await read(id), before.get(`${id.partner} ${id.ref}`))) differing++;
    console.log(
      `identity e2e: rebuilt graph, profiles and persons: ${ids.length} identifiers read again, ${differing} differing`,
    );
    expect(differing).toBe(0);
  }, 600_000);
});
