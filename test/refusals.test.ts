import { afterAll, describe, expect, test } from "bun:test";
import { createOpenSearch, createRedis, createSql } from "../infra/platform/clients.ts";
import type { Checkout, Click } from "../infra/platform/contracts/commerce.ts";
import type { EnrichedInteraction } from "../infra/platform/contracts/content.ts";
import { REPLAYED_FROM } from "../infra/platform/kafka/dead-letters.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic } from "../infra/platform/topology.ts";
import { attributedCheckoutsWorker, attributionWorker } from "../workers/attribution/worker.ts";
import { runExport } from "../workers/export/export.ts";
import { PERSONALIZATION_TOPICS, userActivityWorker } from "../workers/personalization/worker.ts";
import { PROFILE_MAPPING, profileKey, profilesIndex } from "../workers/profiles/view.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { testClicksTable } from "./fixtures/export-runner.ts";
import { createTestTopic, deleteTopics, eventually, readTopic, testConfig, unique } from "./helpers.ts";

/**
 * No record stalls a partition (SPEC §3.7): a record a sink refuses for its
 * content goes to the DLQ with the sink's reason and the records after it are
 * applied; an event time from the future never moves a stream time.
 */

const config = testConfig();
const sql = createSql(config, 2);
const topics: string[] = [];
const running: RunningWorker[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop()));
  for (const cleanup of cleanups) await cleanup();
  await deleteTopics(
    config,
    topics.flatMap((t) => [t, deadLetterTopic(t)]),
  );
  await sql.end();
});

async function newTopics(run: string, ...names: string[]): Promise<Record<string, string>> {
  const made: Record<string, string> = {};
  for (const name of names) {
    made[name] = `test.${run}.${name}`;
    await createTestTopic(config, made[name], 3);
    topics.push(made[name]);
  }
  return made;
}

async function produce(records: OutRecord[]) {
  const producer = await createProducer(config);
  // One at a time, so each record's write time follows the one before.
  for (const record of records) await producer.send([record]);
  await producer.disconnect();
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("a record a sink refuses goes to the DLQ with the sink's reason; the partition moves on", () => {
  test("attribution: a row Postgres refuses (a check constraint) is dead-lettered, the checkouts around it are written", async () => {
    const run = unique("refuse-pg");
    const t = await newTopics(run, "clicks", "checkouts", "attributed");
    const constraint = `refuse_${run.replace(/\W/g, "_")}`;
    await sql.unsafe(
      `alter table attributed_checkouts add constraint ${constraint} check (product_id <> '${run}-refused')`,
    );
    cleanups.push(() => sql.unsafe(`alter table attributed_checkouts drop constraint if exists ${constraint}`));
    running.push(
      await runWorker(
        attributionWorker(config, {
          name: `${run}-attribution`,
          topics: { clicks: t.clicks!, checkouts: t.checkouts!, attributed: t.attributed! },
        }),
        config,
      ),
      await runWorker(attributedCheckoutsWorker(config, { name: `${run}-rows`, topic: t.attributed! }), config),
    );
    const user = `${run}-u`;
    const checkout = (id: string, product: string): OutRecord => ({
      topic: t.checkouts!,
      key: user,
      value: {
        checkout_id: `${run}-${id}`,
        user_id: user,
        product_id: product,
        total_amount: 10,
        occurred_at: iso(Date.now() - 1000),
      } satisfies Checkout,
    });
    await produce([checkout("before", "p1"), checkout("refused", `${run}-refused`), checkout("after", "p1")]);

    await eventually("the rows around the refused one", async () => {
      const rows = await sql<
        { checkout_id: string }[]
      >`select checkout_id from attributed_checkouts where user_id = ${user}`;
      return rows.length === 2;
    });
    const rows = await sql<
      { checkout_id: string }[]
    >`select checkout_id from attributed_checkouts where user_id = ${user} order by checkout_id`;
    expect(rows.map((r) => r.checkout_id)).toEqual([`${run}-after`, `${run}-before`]);
    const dead = await eventually("the refused attribution on the DLQ", async () => {
      const records = await readTopic(config, deadLetterTopic(t.attributed!));
      return records.length > 0 ? records : undefined;
    });
    expect(dead.length).toBe(1);
    expect(JSON.parse(dead[0]!.value).checkout.checkout_id).toBe(`${run}-refused`);
    expect(dead[0]!.headers["dlq.reason"]).toContain("Postgres refused the row");
    expect(dead[0]!.headers["dlq.reason"]).toContain(constraint);
    expect(running.at(-1)!.stats).toMatchObject({ deadLettered: 1, lastError: null });
  }, 90_000);

  test("export: a row Postgres refuses lands in the rejects table with Postgres' reason, and so does a key it cannot hold; the rest loads", async () => {
    const run = unique("refuse-wh");
    const t = await newTopics(run, "clicks");
    const table = `t_${run.replace(/\W/g, "_")}`;
    const click = (id: string, product: string, key = "u1"): OutRecord => ({
      topic: t.clicks!,
      key,
      value: {
        click_id: `${run}-${id}`,
        user_id: "u1",
        product_id: product,
        occurred_at: iso(Date.now() - 1000),
      } satisfies Click,
    });
    // The first run makes the table; the constraint then refuses one product.
    await produce([click("first", "p1")]);
    expect((await runExport(config, { tables: [testClicksTable(t.clicks!, table)] })).tables[table]).toEqual({
      loaded: 1,
      rejected: 0,
    });
    await sql.unsafe(`alter table warehouse."${table}" add constraint ${table}_refuse check (product_id <> 'refused')`);
    await produce([click("a", "p1"), click("b", "refused"), click("c", "p1"), click("d", "p1", "nul\u0000key")]);

    const summary = await runExport(config, { tables: [testClicksTable(t.clicks!, table)] });
    expect(summary.tables[table]).toEqual({ loaded: 2, rejected: 2 });
    const loaded = await sql.unsafe(`select click_id from warehouse."${table}" order by click_id`);
    expect(loaded.map((r) => r.click_id)).toEqual([`${run}-a`, `${run}-c`, `${run}-first`]);
    const rejects = await sql.unsafe(
      `select raw::jsonb ->> 'click_id' as click_id, _key, reason from warehouse."${table}_rejects" order by click_id`,
    );
    expect(rejects.map((r) => [r.click_id, r.reason])).toEqual([
      [`${run}-b`, expect.stringContaining(`Postgres refused the row: new row for relation`)],
      [`${run}-d`, "key: must not contain a NUL character or a lone surrogate"],
    ]);
    expect(rejects[0]!.reason).toContain(`${table}_refuse`);
    // The key is kept, escaped: the rejects table is Postgres text too.
    expect(rejects[1]!._key).toBe("nul\\u0000key");
  }, 60_000);

  test("profiles: a document the search engine refuses is dead-lettered with its reason; the others are indexed; a replay after the fix indexes it", async () => {
    const run = unique("refuse-os");
    const t = await newTopics(run, "events", "actions", "links", "changes", "members");
    const prefix = `cdp-test-${run.toLowerCase()}-`;
    const search = createOpenSearch(config);
    // The index exists with `country` as a number: a profile whose country is a word cannot be indexed.
    const index = profilesIndex(prefix);
    const mappings = {
      ...PROFILE_MAPPING,
      properties: { ...PROFILE_MAPPING.properties, country: { type: "integer" } },
    };
    await search.indices.create({ index, body: { mappings } as never });
    cleanups.push(() => search.indices.delete({ index, ignore_unavailable: true }).finally(() => search.close()));
    running.push(
      await runWorker(
        profileWorker(
          { ...config, INDEX_PREFIX: prefix },
          {
            name: `${run}-profiles`,
            topics: {
              events: t.events!,
              actions: t.actions!,
              links: t.links!,
              changes: t.changes!,
              members: t.members!,
            },
          },
        ),
        config,
      ),
    );

    const partner = `${run}-p`;
    const event = (user: string, country: string | null): OutRecord => ({
      topic: t.events!,
      key: user,
      value: {
        event_id: `${run}-${user}`,
        type: "page_view",
        user_id: user,
        partner_id: partner,
        country,
        occurred_at: iso(Date.now() - 1000),
      },
    });
    await produce([event("word", "FR"), event("none", null), event("number", "49")]);

    const dead = await eventually("the refused event on the DLQ", async () => {
      const records = await readTopic(config, deadLetterTopic(t.events!));
      return records.length > 0 ? records : undefined;
    });
    expect(dead.map((d) => JSON.parse(d.value).user_id)).toEqual(["word"]);
    expect(dead[0]!.headers["dlq.reason"]).toContain("OpenSearch refused the document");
    expect(dead[0]!.headers["dlq.reason"]).toContain("mapper_parsing_exception");
    await eventually("the others indexed", async () => {
      await search.indices.refresh({ index });
      const { body } = await search.count({ index });
      return body.count === 2;
    });
    const redis = createRedis(config);
    const stored = await redis.mget(
      profileKey(partner, "word", { partitions: 3 }),
      profileKey(partner, "none", { partitions: 3 }),
      profileKey(partner, "number", { partitions: 3 }),
    );
    redis.disconnect();
    // Search trails the store: the profile is applied and served; only its search copy was refused.
    expect(stored.map((doc) => doc !== null)).toEqual([true, true, true]);

    // The mapping fixed (the index made again), the dead letter replayed: its profile reaches search,
    // though the fold counts its event once (the replay changes no state).
    await search.indices.delete({ index });
    await search.indices.create({ index, body: { mappings: PROFILE_MAPPING } as never });
    // As `bun run dlq replay` sends it (this test's topic is not a declared one): its bytes, marked as replayed.
    await produce([
      {
        topic: t.events!,
        key: dead[0]!.key,
        value: Buffer.from(dead[0]!.value),
        headers: { [REPLAYED_FROM]: `${deadLetterTopic(t.events!)}:0:0` },
      },
    ]);
    const found = await eventually("the replayed profile in search", async () => {
      await search.indices.refresh({ index });
      const { body } = await search.search({ index, body: { query: { term: { user_id: "word" } } } });
      return body.hits.hits.length === 1 ? (body.hits.hits[0]!._source as { events_total: number }) : undefined;
    });
    expect(found.events_total).toBe(1);
  }, 60_000);
});

describe("an event time from the future never moves a stream time", () => {
  test("attribution: after a far-future click and one a few minutes ahead, genuine clicks are not late and attribute the checkout", async () => {
    const run = unique("future-attr");
    const t = await newTopics(run, "clicks", "checkouts", "attributed");
    running.push(
      await runWorker(
        attributionWorker(config, {
          name: `${run}-attribution`,
          topics: { clicks: t.clicks!, checkouts: t.checkouts!, attributed: t.attributed! },
        }),
        config,
      ),
      await runWorker(attributedCheckoutsWorker(config, { name: `${run}-rows`, topic: t.attributed! }), config),
    );
    const user = `${run}-u`;
    const click = (id: string, at: string, product = "p1"): OutRecord => ({
      topic: t.clicks!,
      key: user,
      value: { click_id: `${run}-${id}`, user_id: user, product_id: product, occurred_at: at } satisfies Click,
    });
    const checkout = (id: string, at: number, product: string): OutRecord => ({
      topic: t.checkouts!,
      key: user,
      value: {
        checkout_id: `${run}-${id}`,
        user_id: user,
        product_id: product,
        total_amount: 5,
        occurred_at: iso(at),
      } satisfies Checkout,
    });
    const now = Date.now();
    await produce([
      click("end-of-time", "9999-12-31T23:59:59Z"),
      // Within MAX_CLOCK_SKEW_MS: admitted, but the click stream's time stops at when it was written.
      click("ahead", iso(now + 4 * 60_000), "p2"),
      click("genuine", iso(now - 5000)),
      checkout("k", now, "p1"),
      // A marker after them in the same partitions: once its checkout holds its click, everything before was folded.
      click("marker", iso(now + 100), "marker"),
      checkout("k-marker", now + 200, "marker"),
    ]);
    const clickOf = async (id: string) =>
      (
        await sql<
          { click_id: string | null }[]
        >`select click_id from attributed_checkouts where checkout_id = ${`${run}-${id}`}`
      )[0]?.click_id;
    await eventually("the marker to be folded", async () => (await clickOf("k-marker")) === `${run}-marker`);
    expect(await clickOf("k")).toBe(`${run}-genuine`);
    const dead = await readTopic(config, deadLetterTopic(t.clicks!));
    expect(dead.map((d) => [JSON.parse(d.value).click_id, d.headers["dlq.reason"]])).toEqual([
      [`${run}-end-of-time`, "occurred_at: is in the future (beyond now + MAX_CLOCK_SKEW_MS)"],
    ]);
  }, 60_000);

  test("windows: after a far-future open and one a few minutes ahead, genuine opens still count in their windows", async () => {
    const run = unique("future-win");
    const t = await newTopics(run, "enriched", "activity", "opens");
    const windowed = { ...config, CONTENT_WINDOW_MS: 1000, CONTENT_GRACE_MS: 2000 };
    const topics = {
      ...PERSONALIZATION_TOPICS,
      interactionsEnriched: t.enriched!,
      userActivity: t.activity!,
      opens: t.opens!,
    };
    running.push(await runWorker(userActivityWorker(windowed, { name: `${run}-activity`, topics }), windowed));
    const user = `${run}-u`;
    let offset = 0;
    const open = (at: number | string): OutRecord => ({
      topic: t.enriched!,
      key: user,
      value: {
        user_id: user,
        content_id: `c${offset}`,
        action: "opened",
        occurred_at: typeof at === "string" ? at : iso(at),
        liked: false,
        shared: false,
        user: null,
        source_partition: 0,
        source_offset: String(offset++),
      } satisfies EnrichedInteraction,
    });
    const now = Date.now();
    await produce([open("9999-12-31T23:59:59Z"), open(now + 4 * 60_000), open(now - 500), open(now + 300)]);
    // A later open moves the stream on (by wall clock) and closes the genuine windows.
    await Bun.sleep(2500);
    await produce([open(Date.now())]);

    const windowOf = (ms: number) => iso(Math.floor(ms / 1000) * 1000);
    const expected = [now - 500, now + 300].map(windowOf);
    const results = await eventually("both genuine windows' results", async () => {
      const records = (await readTopic(config, t.activity!)).map(
        (r) => JSON.parse(r.value) as { window_start: string; opens: number },
      );
      return expected.every((start) => records.some((r) => r.window_start === start)) ? records : undefined;
    });
    const opens = new Map<string, number>();
    for (const r of results) opens.set(r.window_start, r.opens);
    expect(expected.map((start) => opens.get(start))).toEqual(expected[0] === expected[1] ? [2, 2] : [1, 1]);
    expect(results.some((r) => r.window_start === windowOf(now + 4 * 60_000))).toBe(false);
    const dead = await readTopic(config, deadLetterTopic(t.enriched!));
    expect(dead.map((d) => d.headers["dlq.reason"])).toEqual([
      "occurred_at: is in the future (beyond now + MAX_CLOCK_SKEW_MS)",
    ]);
  }, 60_000);
});
