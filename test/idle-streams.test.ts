import { afterAll, describe, expect, test } from "bun:test";
import { Partitioners } from "kafkajs";
import type { EnrichedInteraction, PopularInPartition, UserActivity } from "../infra/platform/contracts/content.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { popularContentWorker, userActivityWorker } from "../workers/personalization/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { testContentTopics } from "./fixtures/content-run.ts";
import {
  createTestTopic,
  deleteTopicsAndDeadLetters,
  eventually,
  type TailedRecord,
  tailTopic,
  testConfig,
  unique,
} from "./helpers.ts";

/**
 * Idle streams: a burst of opens, then silence. With no further record, the
 * windowed stages' latest window still closes within IDLE_TIMEOUT_MS (plus a
 * margin) of its end: user-activity sends every user's count and
 * popular-content (behind the repartition, moved by the watermarks the quiet
 * partitions send, one of which never had a record) its top list, both
 * equal to counts over what was produced.
 */
const WINDOW_MS = 3000;
const IDLE_MS = 2000;
const MARGIN_MS = 3000;
const config = { ...testConfig(), CONTENT_WINDOW_MS: WINDOW_MS, CONTENT_GRACE_MS: 1000, IDLE_TIMEOUT_MS: IDLE_MS };
const toDelete: string[] = [];
const running: RunningWorker[] = [];
const tails: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all([...running, ...tails].map((w) => w.stop()));
  await deleteTopicsAndDeadLetters(config, toDelete);
});

describe("idle streams", () => {
  test("after a burst and silence, the latest window closes within IDLE_TIMEOUT_MS + a margin, with the produced counts", async () => {
    const run = unique("idle");
    const topics = testContentTopics(run);
    for (const topic of [topics.interactionsEnriched, topics.userActivity, topics.opens, topics.popular]) {
      await createTestTopic(config, topic, topic === topics.popular ? 1 : config.TOPIC_PARTITIONS);
      toDelete.push(topic);
    }
    const activityOut = await tailTopic(config, topics.userActivity);
    const popularOut = await tailTopic(config, topics.popular);
    tails.push(activityOut, popularOut);
    running.push(
      await runWorker(userActivityWorker(config, { name: `${run}-activity`, topics }), config),
      await runWorker(popularContentWorker(config, { name: `${run}-popular`, topics }), config),
    );

    // A burst early in a window (so it cannot close by itself): 40 users, 6 contents.
    const windowStartMs = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
    if (Date.now() - windowStartMs > WINDOW_MS / 3) await Bun.sleep(windowStartMs + WINDOW_MS - Date.now() + 50);
    const burstAt = Date.now();
    const start = Math.floor(burstAt / WINDOW_MS) * WINDOW_MS;
    const end = start + WINDOW_MS;
    // Users whose records land anywhere but partition 0: that partition of user-activity stays empty.
    const partitionOf = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from(
      { length: config.TOPIC_PARTITIONS },
      (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0] }) as never,
    );
    const users: string[] = [];
    for (let i = 0; users.length < 40; i++) {
      const key = `${run}-u${i}`;
      if (partitionOf({ topic: topics.interactionsEnriched, partitionMetadata, message: { key, value: null } }) !== 0)
        users.push(key);
    }
    const events: EnrichedInteraction[] = Array.from({ length: 120 }, (_, i) => ({
      user_id: users[i % 40]!,
      content_id: `${run}-c${i % 6}`,
      action: "opened",
      occurred_at: new Date(burstAt).toISOString(),
      liked: false,
      shared: false,
      user: null,
      // Where it entered (what the enrich stage records): one source partition per user, offsets rising.
      source_partition: i % 40,
      source_offset: String(Math.floor(i / 40)),
    }));
    const producer = await createProducer(config);
    await producer.send(events.map((value) => ({ topic: topics.interactionsEnriched, key: value.user_id, value })));
    await producer.disconnect();

    // The oracle, from the records produced.
    const opensByUser = new Map<string, number>();
    const opensByContent = new Map<string, number>();
    for (const e of events) {
      opensByUser.set(e.user_id, (opensByUser.get(e.user_id) ?? 0) + 1);
      opensByContent.set(e.content_id, (opensByContent.get(e.content_id) ?? 0) + 1);
    }
    expect(opensByUser.size).toBe(40);

    const windowOf = (records: TailedRecord[]) =>
      records.map((r) => JSON.parse(r.value) as UserActivity).filter((a) => Date.parse(a.window_start) === start);
    const activity = await eventually(
      "every user's count for the quiet window",
      async () => {
        const results = windowOf(activityOut.records);
        return new Set(results.map((r) => r.user_id)).size === opensByUser.size ? results : undefined;
      },
      end - Date.now() + IDLE_MS + MARGIN_MS,
    );
    const activityAt = Date.now();
    for (const result of activity) expect(result.opens).toBe(opensByUser.get(result.user_id)!);

    const top = await eventually(
      "popular content for the quiet window",
      async () => {
        const lists = popularOut.records
          .map((r) => JSON.parse(r.value) as PopularInPartition)
          .filter((p) => Date.parse(p.window_start) === start);
        const items = lists.flatMap((p) => p.top);
        return new Set(items.map((i) => i.content_id)).size === opensByContent.size ? items : undefined;
      },
      end - Date.now() + IDLE_MS + MARGIN_MS,
    );
    const popularAt = Date.now();
    for (const item of top) expect(item.opens).toBe(opensByContent.get(item.content_id)!);
    console.log(
      `quiet window ${new Date(start).toISOString()}: user-activity closed ${activityAt - end} ms after its end, popular content ${popularAt - end} ms after (IDLE_TIMEOUT_MS ${IDLE_MS})`,
    );
    expect(activityAt - end).toBeLessThanOrEqual(IDLE_MS + MARGIN_MS);
    expect(popularAt - end).toBeLessThanOrEqual(IDLE_MS + MARGIN_MS);
  }, 60_000);
});
