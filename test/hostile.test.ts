import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import fc from "fast-check";
import { Kafka, type Producer as KafkaProducer, logLevel, Partitioners } from "kafkajs";
import { createApp } from "../api/app.ts";
import type { IngestTopics } from "../api/http/ingest-endpoints.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { deadLetterTopic, TOPIC } from "../infra/platform/topology.ts";
import { attributedCheckoutsWorker, attributionWorker } from "../workers/attribution/worker.ts";
import { runExport } from "../workers/export/export.ts";
import { tableLike, WAREHOUSE_TABLES } from "../workers/export/tables.ts";
import { enrichWorker, PERSONALIZATION_TOPICS } from "../workers/personalization/worker.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { groupIdOf, type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { socialEdgesWorker, userInfoWorker } from "../workers/userinfo/worker.ts";
import { type Case, cases, kinds } from "./fixtures/hostile.ts";
import { createTestTopic, deleteTopics, eventually, readTopic, testConfig, unique } from "./helpers.ts";

/**
 * The hostile-input suite (SPEC §3.7): generated records, valid, oddly
 * shaped and hostile, posted through every ingest endpoint and produced raw
 * by a foreign client to every topic outside services write, through the
 * real API, broker, workers, Redis, OpenSearch, Postgres and the warehouse
 * export. Never a 5xx; every accepted record in every view and in the
 * warehouse; every refused raw record in the DLQ with its reason and in the
 * warehouse's rejects; every consumer group caught up.
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 20261126);
const PER_ENDPOINT = 150;
const PER_TOPIC = 150;

const config = testConfig();
const run = unique("hostile");
const name = (topic: string) => `test.${run}.${topic}`;
const topics = {
  events: name("events"),
  actions: name("actions"),
  links: name("links"),
  changes: name("changes"),
  members: name("members"),
  clicks: name("clicks"),
  checkouts: name("checkouts"),
  attributed: name("attributed"),
  usersCdc: name("users-cdc"),
  beacons: name("beacons"),
  interactions: name("interactions"),
  active: name("active"),
  enriched: name("enriched"),
  impressions: name("impressions"),
  users: name("users"),
  tweets: name("tweets"),
  follows: name("follows"),
  likes: name("likes"),
  deltas: name("deltas"),
  changelog: name("userinfo"),
};
/** The topic each kind of record goes to. */
const topicOf: Record<string, string> = {
  events: topics.events,
  clicks: topics.clicks,
  checkouts: topics.checkouts,
  beacons: topics.beacons,
  interactions: topics.interactions,
  users: topics.users,
  tweets: topics.tweets,
  follows: topics.follows,
  likes: topics.likes,
};
const ingestTopics: IngestTopics = {
  events: topics.events,
  clicks: topics.clicks,
  checkouts: topics.checkouts,
  beacons: topics.beacons,
  interactions: topics.interactions,
};
const partners = [`${run}-p`, `${run}-q`] as const;
const PARTITIONS = 3;
const deps = await connectApiDependencies(config);
// The test's topics have 3 partitions, and lookups find a document by its partition: the API is told so.
const app = createApp({ ...deps, config: { ...deps.config, TOPIC_PARTITIONS: PARTITIONS }, ingestTopics });
const keys: Record<string, string> = {};
const workers: RunningWorker[] = [];
const groups = ["profiles", "attribution", "checkouts", "enrich", "edges", "userinfo"].map((w) => `${run}-${w}`);

type Posted = Case & { status: number };
type Produced = Case & { partition: number; offset: string };
const posted: Posted[] = [];
const produced: Produced[] = [];
const queried: { path: string; status: number }[] = [];
let raw: KafkaProducer;

beforeAll(async () => {
  for (const partner of partners) keys[partner] = (await createApiKey(drizzle(deps.sql), partner, ["admin"])).key;
  for (const topic of Object.values(topics)) await createTestTopic(config, topic, PARTITIONS);
  const personalization = {
    ...PERSONALIZATION_TOPICS,
    users: topics.usersCdc,
    beacons: topics.beacons,
    interactions: topics.interactions,
    activeUsers: topics.active,
    interactionsEnriched: topics.enriched,
    impressions: topics.impressions,
  };
  const userinfo = {
    tweets: topics.tweets,
    follows: topics.follows,
    likes: topics.likes,
    users: topics.users,
    deltas: topics.deltas,
    changelog: topics.changelog,
  };
  workers.push(
    await runWorker(profileWorker(config, { name: groups[0]!, topics }), config),
    await runWorker(
      attributionWorker(config, {
        name: groups[1]!,
        topics: { clicks: topics.clicks, checkouts: topics.checkouts, attributed: topics.attributed },
      }),
      config,
    ),
    await runWorker(attributedCheckoutsWorker(config, { name: groups[2]!, topic: topics.attributed }), config),
    await runWorker(enrichWorker(config, { name: groups[3]!, topics: personalization }), config),
    await runWorker(socialEdgesWorker(config, { name: groups[4]!, topics: userinfo }), config),
    await runWorker(userInfoWorker(config, { name: groups[5]!, topics: userinfo }), config),
  );
  // A foreign client: plain kafkajs with the Java partitioner, no project code in between.
  raw = new Kafka({ clientId: "foreign", brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await raw.connect();
});
afterAll(async () => {
  await raw.disconnect();
  await Promise.all(workers.map((w) => w.stop()));
  await deleteTopics(
    config,
    Object.values(topics).flatMap((t) => [t, deadLetterTopic(t)]),
  );
  await closeApiDependencies(deps);
});

const request = (path: string, init: { method?: string; body?: string } = {}, partner: string = partners[0]) =>
  app.request(path, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${keys[partner]}`, "content-type": "application/json" },
    body: init.body,
  });

/** What the API must answer for a case. */
const expectedStatus = { valid: 202, invalid: 400, foreign: 403 } as const;
/** A raw record knows no API key: another partner's event is just that partner's event. */
const rawVerdict = (c: Case) => (c.verdict === "foreign" ? "valid" : c.verdict);
/** An accepted record's fields as sent (JSON.parse reads duplicate keys and __proto__ as every consumer does). */
const fieldsOf = (c: Case) => JSON.parse(c.json!) as Record<string, string>;

describe("hostile input at every way in", () => {
  test("through every ingest endpoint: 202 exactly for valid events, 400 or 403 naming the problem otherwise, never a 5xx", async () => {
    const endpoints = kinds(run, [partners[0], partners[0]]).filter((k) => k.path);
    expect(endpoints.map((k) => k.path)).toEqual([
      "/v1/events",
      "/v1/clicks",
      "/v1/checkouts",
      "/v1/beacons",
      "/v1/interactions",
    ]);
    for (const kind of endpoints) {
      for (const c of cases(kind, 0, PER_ENDPOINT, partners[1], SEED)) {
        const response = await request(kind.path!, { method: "POST", body: c.json ?? "null" });
        posted.push({ ...c, status: response.status });
        if (response.status !== 202) {
          const body = (await response.json()) as { error: string; message: string };
          expect([c.why, typeof body.message]).toEqual([c.why, "string"]);
        }
      }
    }
    expect(posted.length).toBe(5 * PER_ENDPOINT);
    expect(posted.filter((p) => p.status >= 500)).toEqual([]);
    const wrong = posted
      .filter((p) => p.status !== expectedStatus[p.verdict])
      .map((p) => `${p.kind} ${p.why}: ${p.status} ${p.json?.slice(0, 120)}`);
    expect(wrong).toEqual([]);
    // The generator made every verdict.
    for (const verdict of ["valid", "invalid", "foreign"] as const)
      expect(posted.some((p) => p.verdict === verdict)).toBe(true);
  }, 120_000);

  test("produced raw by a foreign client to every input topic", async () => {
    const all = kinds(run, partners);
    expect(all.map((k) => k.name).sort()).toEqual(Object.keys(topicOf).sort());
    for (const kind of all) {
      for (const c of cases(kind, 10_000, PER_TOPIC, partners[1], SEED)) {
        const [meta] = await raw.send({
          topic: topicOf[kind.name]!,
          acks: -1,
          messages: [{ key: c.key ?? "no-key", value: c.json === null ? null : Buffer.from(c.json) }],
        });
        produced.push({ ...c, partition: meta!.partition, offset: meta!.baseOffset! });
      }
    }
    expect(produced.length).toBe(9 * PER_TOPIC);
  }, 120_000);

  test("read endpoints with generated query strings and ids never answer 5xx", async () => {
    const params = [
      "partner_id",
      "country",
      "language",
      "category",
      "last_visit_from",
      "last_visit_to",
      "total_purchases_min",
      "total_purchases_max",
      "sort",
      "order",
      "page",
      "size",
      "q",
      "user_id",
      "product_id",
      "from",
      "to",
      "attributed",
      "cursor",
      "window",
      "start",
      "limit",
      "__proto__",
      "x",
    ];
    const values = fc.oneof(
      fc.string({ unit: "binary", maxLength: 20 }),
      fc.constantFrom(
        "0",
        "-1",
        "1e308",
        "99999999999",
        "2026-01-01T00:00:00+23:59",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "desc",
        "last_visit",
        "true",
        "5m",
        "%00",
        "%ZZ",
        "%ED%A0%80",
        "a".repeat(3000),
      ),
      fc.integer().map(String),
    );
    const query = fc
      .array(fc.tuple(fc.constantFrom(...params), values), { maxLength: 4 })
      .map((pairs) =>
        pairs
          .map(([k, v]) => `${encodeURIComponent(k)}=${v.startsWith("%") ? v : encodeURIComponent(v.toWellFormed())}`)
          .join("&"),
      );
    const id = fc.oneof(
      fc.string({ unit: "binary", minLength: 1, maxLength: 140 }).map((s) => encodeURIComponent(s.toWellFormed())),
      fc.constantFrom("%00", "%ED%A0%80", "offsets", "..", "%2F", "a".repeat(200)),
    );
    const paths = fc.oneof(
      fc
        .tuple(
          fc.constantFrom("/v1/search/profiles", "/v1/search/users", "/v1/checkouts/attributed", "/v1/content/popular"),
          query,
        )
        .map(([p, q]) => `${p}?${q}`),
      fc.tuple(fc.constantFrom("/v1/profiles/", "/v1/users/"), id).map(([p, i]) => `${p}${i}`),
      id.map((i) => `/v1/users/${i}/activity`),
    );
    for (const path of fc.sample(paths, { numRuns: 400, seed: SEED }))
      queried.push({ path, status: (await request(path)).status });
    expect(queried.length).toBe(400);
    expect(queried.filter((q) => q.status >= 500)).toEqual([]);
    expect(queried.some((q) => q.status === 400) && queried.some((q) => q.status === 200)).toBe(true);
  }, 120_000);

  test("every consumer group catches up: nothing stalls a partition", async () => {
    const admin = createKafka(config).admin();
    await admin.connect();
    const inputs: Record<string, string[]> = {
      [groups[0]!]: [topics.events],
      [groups[1]!]: [topics.clicks, topics.checkouts],
      [groups[2]!]: [topics.attributed],
      [groups[3]!]: [topics.usersCdc, topics.beacons, topics.interactions],
      [groups[4]!]: [topics.tweets, topics.follows, topics.likes],
      [groups[5]!]: [topics.users, topics.deltas],
    };
    const lag = async () => {
      let behind = 0;
      for (const [group, groupTopics] of Object.entries(inputs)) {
        for (const topic of groupTopics) {
          const ends = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId: groupIdOf(config, group), topics: [topic] });
          for (const end of ends)
            behind +=
              Number(end.high) -
              Math.max(0, Number(committed!.partitions.find((p) => p.partition === end.partition)?.offset ?? 0));
        }
      }
      return behind;
    };
    try {
      await eventually("every group at the end of its topics", async () => (await lag()) === 0, 180_000);
      expect(await lag()).toBe(0);
      expect(workers.length).toBeGreaterThan(0);
      expect(workers.filter((w) => w.stats.lastError !== null).map((w) => w.stats.lastError)).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  }, 200_000);

  test("every accepted record is in its views; every refused raw record is in the DLQ with its reason", async () => {
    const accepted = [...posted.filter((p) => p.status === 202), ...produced.filter((p) => rawVerdict(p) === "valid")];
    const refusedRaw = produced.filter((p) => rawVerdict(p) !== "valid");
    expect(accepted.length).toBeGreaterThan(500);
    expect(refusedRaw.length).toBeGreaterThan(100);
    let lost = 0;

    // Profiles: one per partner and user, counting each event id once, readable by that partner only.
    const profiles = new Map<string, { partner: string; user: string; events: Set<string> }>();
    for (const c of accepted.filter((c) => c.kind === "events")) {
      const v = fieldsOf(c) as { partner_id: string; user_id: string; event_id: string };
      const k = JSON.stringify([v.partner_id, v.user_id]);
      const p = profiles.get(k) ?? { partner: v.partner_id, user: v.user_id, events: new Set() };
      p.events.add(v.event_id);
      profiles.set(k, p);
    }
    expect(profiles.size).toBeGreaterThan(10);
    for (const p of profiles.values()) {
      const response = await request(`/v1/profiles/${encodeURIComponent(p.user)}`, {}, p.partner);
      const total = response.status === 200 ? ((await response.json()) as { events_total: number }).events_total : -1;
      if (total !== p.events.size) lost++;
      expect([p.partner, p.user, total]).toEqual([p.partner, p.user, p.events.size]);
    }
    for (const partner of partners) {
      const users = [...profiles.values()].filter((p) => p.partner === partner).length;
      await eventually(`search to hold ${users} profiles of ${partner}`, async () => {
        const page = (await (await request("/v1/search/profiles?size=100", {}, partner)).json()) as { total: number };
        return page.total === users;
      });
    }

    // Attributed checkouts: a row for every accepted checkout.
    const checkoutIds = [
      ...new Set(accepted.filter((c) => c.kind === "checkouts").map((c) => fieldsOf(c).checkout_id!)),
    ];
    const rows = await deps.sql<
      { checkout_id: string }[]
    >`select checkout_id from attributed_checkouts where checkout_id = any(${checkoutIds})`;
    lost += checkoutIds.length - rows.length;
    expect(rows.length).toBe(checkoutIds.length);

    // Enrichment: every accepted beacon and interaction enriched once (by where it entered).
    for (const [kind, topic] of [
      ["beacons", topics.active],
      ["interactions", topics.enriched],
    ] as const) {
      const enriched = await readTopic(config, topic);
      const distinct = new Set(
        enriched.map((r) => {
          const v = JSON.parse(r.value!) as { source_partition: number; source_offset: string };
          return `${v.source_partition}:${v.source_offset}`;
        }),
      );
      const want = accepted.filter((c) => c.kind === kind).length;
      lost += Math.max(0, want - distinct.size);
      expect([kind, distinct.size]).toEqual([kind, want]);
    }

    // User info: each user's last valid changelog record, with counts computed here from the valid social records.
    const last = new Map<string, Record<string, unknown> | null>();
    const tweets = new Map<string, string>();
    const follows = new Set<string>();
    const likes = new Set<string>();
    for (const c of produced.filter((p) => rawVerdict(p) === "valid")) {
      if (c.kind === "users") {
        last.set(c.key!, c.json === null ? null : fieldsOf(c));
        continue;
      }
      const v = fieldsOf(c);
      if (c.kind === "tweets") {
        if (v.type === "created" && !tweets.has(v.tweet_id!)) tweets.set(v.tweet_id!, v.user_id!);
        if (v.type === "deleted") tweets.delete(v.tweet_id!);
      } else if (c.kind === "follows")
        (v.type === "follow" ? follows.add.bind(follows) : follows.delete.bind(follows))(
          JSON.stringify([v.follower_id, v.followee_id]),
        );
      else if (c.kind === "likes")
        (v.type === "like" ? likes.add.bind(likes) : likes.delete.bind(likes))(JSON.stringify([v.user_id, v.tweet_id]));
    }
    expect(last.size).toBeGreaterThan(10);
    const pairs = (set: Set<string>) => [...set].map((p) => JSON.parse(p) as [string, string]);
    for (const [user, fields] of last) {
      const response = await request(`/v1/users/${encodeURIComponent(user)}`);
      const got = response.status === 200 ? await response.json() : response.status;
      const want =
        fields === null
          ? 404
          : expect.objectContaining({
              user_id: user,
              username: fields.username,
              name: fields.name,
              tweets: [...tweets.values()].filter((author) => author === user).length,
              following: pairs(follows).filter(([a]) => a === user).length,
              followers: pairs(follows).filter(([, b]) => b === user).length,
              likes: pairs(likes).filter(([u]) => u === user).length,
            });
      if (fields !== null && response.status !== 200) lost++;
      expect([user, got]).toEqual([user, want]);
    }

    // Dead letters: exactly the refused raw records, each with where it came from and why.
    for (const topic of Object.values(topicOf)) {
      const dead = await readTopic(config, deadLetterTopic(topic));
      const want = refusedRaw.filter((c) => topicOf[c.kind] === topic);
      const got = new Set(dead.map((d) => `${d.headers["dlq.source.partition"]}:${d.headers["dlq.source.offset"]}`));
      expect([topic, [...got].sort()]).toEqual([topic, want.map((c) => `${c.partition}:${c.offset}`).sort()]);
      expect(dead.filter((d) => (d.headers["dlq.reason"] ?? "").length === 0)).toEqual([]);
    }
    console.log(
      `hostile suite (seed ${SEED}): ${posted.length + produced.length + queried.length} inputs tried (${posted.length} posted, ${produced.length} produced raw, ${queried.length} reads), ` +
        `${[...posted, ...queried].filter((p) => p.status >= 500).length} 5xx, ${accepted.length} accepted, ${refusedRaw.length + posted.filter((p) => p.status !== 202).length} refused, ${lost} records lost`,
    );
    expect(lost).toBe(0);
  }, 240_000);

  test("the warehouse holds every accepted record and rejects every refused one with its reason", async () => {
    const exported = ["events", "clicks", "checkouts", "beacons", "interactions", "tweets", "follows", "likes"];
    const like = (topic: string) =>
      WAREHOUSE_TABLES.find(
        (t) =>
          t.topic ===
          {
            events: TOPIC.clickstream,
            clicks: TOPIC.clicks,
            checkouts: TOPIC.checkouts,
            beacons: TOPIC.beacons,
            interactions: TOPIC.interactions,
            tweets: TOPIC.tweets,
            follows: TOPIC.follows,
            likes: TOPIC.likes,
          }[topic],
      )!;
    const tables = exported.map((kind) =>
      tableLike(like(kind), topicOf[kind]!, `t_${run.replace(/\W/g, "_")}_${kind}`),
    );
    const summary = await runExport({ ...config, WAREHOUSE_RETENTION_DAYS: 36_500 }, { tables });
    for (const [i, kind] of exported.entries()) {
      const table = tables[i]!.table;
      const want = {
        rows:
          posted.filter((p) => p.kind === kind && p.status === 202).length +
          produced.filter((p) => p.kind === kind && rawVerdict(p) === "valid").length,
        rejects: produced
          .filter((p) => p.kind === kind && rawVerdict(p) !== "valid")
          .map((p) => `${p.partition}:${p.offset}`)
          .sort(),
      };
      const [{ rows }] = (await deps.sql.unsafe(
        `select count(distinct (_partition, _offset))::int as rows from warehouse."${table}"`,
      )) as unknown as [{ rows: number }];
      const rejects = (await deps.sql.unsafe(
        `select _partition || ':' || _offset as at, reason from warehouse."${table}_rejects"`,
      )) as unknown as {
        at: string;
        reason: string;
      }[];
      expect([kind, rows, rejects.map((r) => r.at).sort()]).toEqual([kind, want.rows, want.rejects]);
      expect(rejects.filter((r) => r.reason.length === 0)).toEqual([]);
      expect(summary.tables[table]).toEqual({ loaded: want.rows, rejected: want.rejects.length });
    }
  }, 120_000);
});
