import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { contentRoutes, windowName } from "../api/routes/content.ts";
import { upsertUsers } from "../db/users.ts";
import { createRedis, createSql } from "../infra/platform/clients.ts";
import type { EnrichedInteraction } from "../infra/platform/contracts/content.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { partitionOf } from "../infra/platform/kafka/partitioner.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic, TOPIC } from "../infra/platform/topology.ts";
import { startOutboxCapture } from "../workers/capture/outbox.ts";
import { runExport } from "../workers/export/export.ts";
import { tableLike, WAREHOUSE_TABLES } from "../workers/export/tables.ts";
import {
  contentViewsWorker,
  enrichWorker,
  popularContentWorker,
  userActivityWorker,
} from "../workers/personalization/worker.ts";
import { rebuild } from "../workers/rebuild.ts";
import { groupIdOf, type Running, runWorker } from "../workers/runtime/runner.ts";
import { compareViews, prepareContentRun, testContentTopics } from "./fixtures/content-run.ts";
import {
  createTestTopic,
  deleteTopics,
  eventually,
  recordsIn,
  tailTopic,
  testConfig,
  unique,
  withKey,
} from "./helpers.ts";

/**
 * The personalization pipeline end to end on the real servers: users
 * written to Postgres and captured to users.cdc, a content datagen run on
 * topics of the test's own, the join, both windowed stages and the views;
 * then the API's answers against values computed from what was produced.
 */

const WINDOW_MS = 5000;
const GRACE_MS = 600_000;
const base = testConfig();
const config = { ...base, CONTENT_WINDOW_MS: WINDOW_MS, CONTENT_GRACE_MS: GRACE_MS };
const sql = createSql(config, 2);
const redis = createRedis(config);
const run = unique("pers");
// The users changelog is the real one: the test's users go through Postgres and the capture.
const topics = testContentTopics(run, TOPIC.usersCdc);
const names = {
  enrich: `${run}-enrich`,
  activity: `${run}-activity`,
  popular: `${run}-popular`,
  views: `${run}-views`,
};
const app = withKey(
  contentRoutes({
    redis,
    windowMs: WINDOW_MS,
    topN: config.POPULAR_TOP_N,
    partitions: config.TOPIC_PARTITIONS,
    viewName: names.views,
  }),
  ["content:read"],
);
const running: Running[] = [];
let views: Running | undefined;
const contentRun = prepareContentRun({
  runId: run,
  events: 30_000,
  users: 400,
  contents: 150,
  topics,
  windowMs: WINDOW_MS,
  graceMs: GRACE_MS,
  topN: config.POPULAR_TOP_N,
  start: Date.now() - 3_600_000,
});
const userIds = Array.from({ length: 400 }, (_, i) => `${run}-u${i}`);

beforeAll(async () => {
  for (const topic of Object.values(topics))
    if (topic !== TOPIC.usersCdc)
      await createTestTopic(config, topic, topic === topics.popular ? 1 : config.TOPIC_PARTITIONS);
  running.push(await startOutboxCapture(config, { name: `${run}-capture` }));
  running.push(await runWorker(enrichWorker(config, { name: names.enrich, topics }), config));
  running.push(await runWorker(userActivityWorker(config, { name: names.activity, topics }), config));
  running.push(await runWorker(popularContentWorker(config, { name: names.popular, topics }), config));
  views = await runWorker(contentViewsWorker(config, { name: names.views, topics }), config);
  running.push(views);
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await deleteTopics(
    config,
    Object.values(topics)
      .filter((t) => t !== TOPIC.usersCdc)
      .flatMap((t) => [t, deadLetterTopic(t)]),
  );
  redis.disconnect();
  await sql.end();
});

describe("real-time personalization, end to end", () => {
  test("after a datagen run, every user's windows and every window's top N equal values computed from what was produced", async () => {
    const enriched = await tailTopic(config, topics.interactionsEnriched);
    // The users table first: captured from Postgres, folded into the join's state.
    await upsertUsers(sql, contentRun.users);
    await eventually(
      "the users to reach the join's table",
      async () =>
        (await redis.exists(
          ...contentRun.users.map(
            (u) =>
              `${names.enrich}:user:{p${partitionOf(u.user_id, config.TOPIC_PARTITIONS)}}:${encodeURIComponent(u.user_id)}`,
          ),
        )) === contentRun.users.length,
      60_000,
    );

    const producer = await createProducer(config);
    let next = 0;
    for (const move of [...contentRun.moves, { afterRecord: contentRun.records.length, user: undefined }]) {
      await producer.send(contentRun.records.slice(next, move.afterRecord));
      next = move.afterRecord;
      if (move.user) await upsertUsers(sql, [move.user]);
    }
    const interactions = contentRun.records.filter((r) => r.topic === topics.interactions).length;
    const opened = contentRun.records.filter(
      (r) => r.topic === topics.interactions && (r.value as { action: string }).action === "opened",
    ).length;
    // Every open repartitioned before the sentinels go: they must come after all of it in every partition.
    await eventually(
      "every open to reach content.opens",
      async () => (await recordsIn(config, topics.opens)) >= opened,
      120_000,
    );
    await producer.send(contentRun.sentinels(config.TOPIC_PARTITIONS));
    await producer.disconnect();

    let comparison = await compareViews(app, contentRun, windowName(WINDOW_MS), userIds);
    const deadline = Date.now() + 120_000;
    while (comparison.differences.length > 0 && Date.now() < deadline) {
      await Bun.sleep(500);
      comparison = await compareViews(app, contentRun, windowName(WINDOW_MS), userIds);
    }
    console.log(
      `personalization e2e: ${contentRun.records.length} records (${interactions} interactions, ${opened} opens), ${contentRun.moves.length} region moves, ` +
        `${comparison.users} users, ${comparison.windows} user windows, ${comparison.popularWindows} popular windows, ${comparison.differences.length} differing`,
    );
    expect(comparison.differences.slice(0, 5)).toEqual([]);
    expect(comparison.windows).toBeGreaterThan(1000);
    expect(comparison.popularWindows).toBe(12);

    // The join: every enriched interaction carries a user exactly when the user is in Postgres.
    await eventually(
      "every enriched interaction to be tailed",
      async () => enriched.records.length >= interactions + config.TOPIC_PARTITIONS,
      60_000,
    );
    await enriched.stop();
    const known = new Set(contentRun.users.map((u) => u.user_id));
    const joined = enriched.records
      .map((r) => JSON.parse(r.value) as EnrichedInteraction)
      .filter((e) => !e.user_id.includes("sentinel"));
    expect(joined.length).toBe(interactions);
    expect(joined.filter((e) => (e.user !== null) !== known.has(e.user_id)).length).toBe(0);
    // A user who never moved carries the region written before the traffic.
    const moved = new Set(contentRun.moves.map((m) => m.user.user_id));
    const initialRegion = new Map(contentRun.users.map((u) => [u.user_id, u.region]));
    expect(
      joined.filter((e) => e.user && !moved.has(e.user_id) && e.user.region !== initialRegion.get(e.user_id)).length,
    ).toBe(0);
  }, 400_000);

  test("interactions.enriched is read in full by two independent groups: the user-activity worker and the warehouse export", async () => {
    const total = await recordsIn(config, topics.interactionsEnriched);
    const admin = createKafka(config).admin();
    await admin.connect();
    const committed = async () =>
      (
        await admin.fetchOffsets({ groupId: groupIdOf(config, names.activity), topics: [topics.interactionsEnriched] })
      )[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
    await eventually(
      "the user-activity group to commit every record",
      async () => (await committed()) === total,
      60_000,
    );
    await admin.disconnect();

    const table = tableLike(
      WAREHOUSE_TABLES.find((t) => t.table === "interactions_enriched")!,
      topics.interactionsEnriched,
      `t_${run.replace(/\W/g, "_")}_enriched`,
    );
    const summary = await runExport(config, { tables: [table] });
    const [loaded] = await sql<{ rows: number; distinct: number; known: number }[]>`
      select count(*)::int as rows, count(distinct (_partition, _offset))::int as distinct, count("user")::int as known from ${sql("warehouse")}.${sql(table.table)}`;
    console.log(
      `personalization fan-out: ${total} enriched records; user-activity committed ${total}; export loaded ${summary.tables[table.table]!.loaded}`,
    );
    expect(total).toBeGreaterThan(20_000);
    expect(loaded!.rows).toBe(total);
    expect(loaded!.distinct).toBe(total);
    expect(loaded!.known).toBeGreaterThan(0);
    await sql.unsafe(`drop table warehouse."${table.table}", warehouse."${table.table}_rejects"`);
  }, 120_000);

  test("the views, dropped and folded again from the result topics, answer the same", async () => {
    await views!.stop();
    const rebuilt = await rebuild(config, contentViewsWorker(config, { name: names.views, topics }), () => {});
    const comparison = await compareViews(app, contentRun, windowName(WINDOW_MS), userIds);
    console.log(
      `personalization rebuild: ${rebuilt.records} window results folded again in ${rebuilt.seconds.toFixed(1)} s, ${comparison.windows} user windows, ${comparison.differences.length} differing`,
    );
    expect(rebuilt.records).toBeGreaterThan(comparison.windows);
    expect(comparison.differences.slice(0, 5)).toEqual([]);
  }, 120_000);
});
