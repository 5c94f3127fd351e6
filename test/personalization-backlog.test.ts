import { afterAll, describe, expect, test } from "bun:test";
import { contentRoutes, windowName } from "../api/routes/content.ts";
import { createRedis } from "../infra/platform/clients.ts";
import type { EnrichedInteraction, Interaction } from "../infra/platform/contracts/content.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic } from "../infra/platform/topology.ts";
import {
  contentViewsWorker,
  enrichWorker,
  popularContentWorker,
  userActivityWorker,
} from "../workers/personalization/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { compareViews, prepareContentRun, testContentTopics } from "./fixtures/content-run.ts";
import {
  createTestTopic,
  deleteTopicsAndDeadLetters,
  eventually,
  readTopic,
  testConfig,
  unique,
  withKey,
} from "./helpers.ts";

/**
 * Windows give the same answer live and on a backlog (SPEC §2.5): an hour
 * of content traffic with the default 5-minute windows and 1-minute grace,
 * produced at once (what a backlog looks like after downtime or a replay),
 * each input partition in event-time order, then one open per partition
 * that closes every window. Every user's windows and every window's top N
 * must equal values computed in the test from the records.
 */

const base = testConfig();
const config = { ...base, CONTENT_WINDOW_MS: 300_000, CONTENT_GRACE_MS: 60_000 };
const redis = createRedis(config);
const toDelete: string[] = [];
const running: RunningWorker[] = [];
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop()));
  await deleteTopicsAndDeadLetters(config, toDelete);
  redis.disconnect();
});

async function backlogRun(stagesRunningFirst: boolean) {
  const run = unique(stagesRunningFirst ? "backlog-live" : "backlog");
  const topics = testContentTopics(run);
  for (const topic of Object.values(topics)) {
    await createTestTopic(config, topic, topic === topics.popular ? 1 : config.TOPIC_PARTITIONS);
    toDelete.push(topic);
  }
  const names = {
    enrich: `${run}-enrich`,
    activity: `${run}-activity`,
    popular: `${run}-popular`,
    views: `${run}-views`,
  };
  const start = async () => {
    const stages = [
      await runWorker(enrichWorker(config, { name: names.enrich, topics }), config),
      await runWorker(userActivityWorker(config, { name: names.activity, topics }), config),
      await runWorker(popularContentWorker(config, { name: names.popular, topics }), config),
      await runWorker(contentViewsWorker(config, { name: names.views, topics }), config),
    ];
    running.push(...stages);
    return stages;
  };
  // An hour (12 windows) of traffic ending over an hour ago, so every window can close.
  const contentRun = prepareContentRun({
    runId: run,
    events: 20_000,
    users: 300,
    contents: 150,
    topics,
    windowMs: config.CONTENT_WINDOW_MS,
    graceMs: config.CONTENT_GRACE_MS,
    topN: config.POPULAR_TOP_N,
    start: Date.now() - 2 * 3_600_000,
  });
  const stages = stagesRunningFirst ? await start() : [];

  const producer = await createProducer(config);
  await producer.send([...contentRun.records, ...contentRun.sentinels(config.TOPIC_PARTITIONS)]);
  await producer.disconnect();
  if (!stagesRunningFirst) stages.push(...(await start()));

  const app = withKey(
    contentRoutes({
      redis,
      windowMs: config.CONTENT_WINDOW_MS,
      topN: config.POPULAR_TOP_N,
      partitions: config.TOPIC_PARTITIONS,
      viewName: names.views,
    }),
    ["content:read"],
  );
  const userIds = Array.from({ length: 300 }, (_, i) => `${run}-u${i}`);
  let comparison = await compareViews(app, contentRun, windowName(config.CONTENT_WINDOW_MS), userIds);
  const deadline = Date.now() + 180_000;
  while (comparison.differences.length > 0 && Date.now() < deadline) {
    await Bun.sleep(1000);
    comparison = await compareViews(app, contentRun, windowName(config.CONTENT_WINDOW_MS), userIds);
  }
  return { run, topics, contentRun, comparison, stages };
}

describe("windows on a backlog", () => {
  test("produced while the stages are stopped, then folded: every user's windows and every window's top N equal the records'", async () => {
    const { contentRun, comparison, stages } = await backlogRun(false);
    const opens = contentRun.records.filter((r) => (r.value as Interaction).action === "opened").length;
    const [, activity, popular] = stages;
    console.log(
      `personalization backlog (stages started after it): ${contentRun.records.length} records (${opens} opens), ${comparison.users} users, ` +
        `${comparison.windows} user windows, ${comparison.popularWindows} popular windows, ${comparison.differences.length} differing; late: user-activity ${activity!.stats.late}, popular-content ${popular!.stats.late}`,
    );
    expect(comparison.differences.slice(0, 5)).toEqual([]);
    expect(comparison.windows).toBeGreaterThan(1000);
    expect(comparison.popularWindows).toBe(12);
    expect([activity!.stats.late, popular!.stats.late]).toEqual([0, 0]);
  }, 300_000);

  test("produced at once while the stages run: the same; then a record later than the grace is counted and dead-lettered as late", async () => {
    const { run, topics, contentRun, comparison, stages } = await backlogRun(true);
    const [, activity, popular] = stages;
    console.log(
      `personalization backlog (stages running): ${contentRun.records.length} records, ${comparison.windows} user windows, ${comparison.popularWindows} popular windows, ` +
        `${comparison.differences.length} differing; late: user-activity ${activity!.stats.late}, popular-content ${popular!.stats.late}`,
    );
    expect(comparison.differences.slice(0, 5)).toEqual([]);
    expect(comparison.popularWindows).toBe(12);
    expect([activity!.stats.late, popular!.stats.late]).toEqual([0, 0]);

    // An open in the first window, long after every window closed for good.
    const [first] = [...contentRun.popular.keys()].sort();
    const straggler: Interaction = {
      user_id: `${run}-u7`,
      content_id: `${run}-straggler`,
      action: "opened",
      occurred_at: new Date(first! + 1000).toISOString(),
      liked: false,
      shared: false,
    };
    const producer = await createProducer(config);
    await producer.send([{ topic: topics.interactions, key: straggler.user_id, value: straggler }]);
    await producer.disconnect();
    await eventually(
      "both stages to count it as late",
      async () => activity!.stats.late === 1 && popular!.stats.late === 1,
      60_000,
    );
    for (const topic of [topics.interactionsEnriched, topics.opens]) {
      const dead = (await readTopic(config, deadLetterTopic(topic))).filter((d) => d.value.includes("straggler"));
      expect([topic, dead.length, dead[0]?.headers["dlq.reason"]?.startsWith("late: the window")]).toEqual([
        topic,
        1,
        true,
      ]);
    }
    // The views did not change.
    expect(
      (
        await compareViews(
          withKey(
            contentRoutes({
              redis,
              windowMs: config.CONTENT_WINDOW_MS,
              topN: config.POPULAR_TOP_N,
              partitions: config.TOPIC_PARTITIONS,
              viewName: `${run}-views`,
            }),
            ["content:read"],
          ),
          contentRun,
          windowName(config.CONTENT_WINDOW_MS),
          [`${run}-u7`],
        )
      ).differences,
    ).toEqual([]);
    expect(
      JSON.parse(
        (await readTopic(config, deadLetterTopic(topics.interactionsEnriched))).find((d) =>
          d.value.includes("straggler"),
        )!.value,
      ) as EnrichedInteraction,
    ).toMatchObject({ content_id: straggler.content_id });
  }, 300_000);
});
