import { afterAll, describe, expect, test } from "bun:test";
import { createRedis } from "../infra/platform/clients.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { deleteKeys, keysMatching, offsetsKey, storeIdKey } from "../infra/platform/redis-keys.ts";
import { deadLetterTopic, TOPIC } from "../infra/platform/topology.ts";
import { type NotifierStats, notifierWorker } from "../workers/notifier/worker.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { groupIdOf, runWorker } from "../workers/runtime/runner.ts";
import { eventually, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * add_to_cart -> actions.push -> webhook, against a real HTTP receiver run by
 * the test: each action delivered once with its idempotency key; a webhook
 * that keeps failing for some actions leads to retries and the DLQ while the
 * others are delivered.
 */

const run = unique("push");
const partner = `${run}-p`;
/** The Idempotency-Key an action of this test's partner is delivered with. */
// The partner and the action id, each percent-encoded (the documented Idempotency-Key).
const idempotencyKey = (actionId: string) => `${encodeURIComponent(partner)}:${encodeURIComponent(actionId)}`;
type Hit = { key: string; status: number; at: number };
const hits: Hit[] = [];
const flakyOnce = new Set<string>();
const receiver = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(request) {
    const key = request.headers.get("idempotency-key") ?? "";
    const action = (await request.json()) as { user_id: string; action_id: string };
    let status = 204;
    if (action.user_id.endsWith("-fail")) status = 500;
    else if (action.action_id.endsWith("-flaky") && !flakyOnce.has(key)) {
      flakyOnce.add(key);
      status = 503;
    }
    hits.push({ key, status, at: Date.now() });
    return new Response(null, { status });
  },
});
afterAll(() => receiver.stop(true));

const config = {
  ...testConfig(),
  PUSH_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/push`,
  PUSH_BACKOFF_MS: 20,
  PUSH_MAX_ATTEMPTS: 4,
};

const event = (user: string, id: string, type = "add_to_cart"): OutRecord => ({
  topic: TOPIC.clickstream,
  key: user,
  value: { event_id: id, type, user_id: user, partner_id: partner, occurred_at: new Date().toISOString() },
});

describe("push actions", () => {
  test("each add_to_cart is delivered once; a failing webhook is retried, then dead-lettered, while others flow", async () => {
    const good = Array.from({ length: 16 }, (_, i) =>
      event(`${run}-u${i % 5}`, `${run}-a${i}${i % 4 === 0 ? "-flaky" : ""}`),
    );
    const failing = [event(`${run}-u9-fail`, `${run}-f1`), event(`${run}-u9-fail`, `${run}-f2`)];
    const noise = [event(`${run}-u1`, `${run}-v1`, "page_view"), event(`${run}-u2`, `${run}-v2`, "search")];
    const goodIds = good.map((r) => idempotencyKey((r.value as { event_id: string }).event_id));

    const admin = createKafka(config).admin();
    await admin.connect();
    const startOffsets = await admin.fetchTopicOffsets(TOPIC.pushActions);

    await skipToEnd(config, "profiles", [TOPIC.clickstream, TOPIC.identityChanges]);
    await skipToEnd(config, "notifier", [TOPIC.pushActions]);
    const stats: NotifierStats = { delivered: 0, retried: 0, deadLettered: 0 };
    const profiles = await runWorker(profileWorker(config), config);
    let notifier = await runWorker(notifierWorker(config, stats), config);
    const producer = await createProducer(config);
    // Failing actions first: the good ones behind them must not wait for their retries to end.
    await producer.send([...failing, ...good, ...noise, ...good.slice(0, 4)]);
    await producer.disconnect();

    try {
      const ok = (key: string) => hits.filter((h) => h.key === key && h.status < 300).length;
      await eventually(
        "every good action delivered and both failing ones dead-lettered",
        async () => goodIds.every((id) => ok(id) > 0) && stats.deadLettered >= 2,
      );
      expect(goodIds.length).toBeGreaterThan(0);
      for (const id of goodIds) expect(ok(id), id).toBe(1);
      expect(hits.filter((h) => h.key === idempotencyKey(`${run}-f1`)).map((h) => h.status)).toEqual([
        500, 500, 500, 500,
      ]);
      expect(hits.filter((h) => h.key.startsWith(partner) && h.key.endsWith("-flaky")).length).toBe(8);
      expect(stats.retried).toBeGreaterThanOrEqual(4 + 6);
      expect(hits.some((h) => h.key.startsWith(`${partner}:${run}-v`))).toBe(false);

      const consumer = createKafka(config).consumer({ groupId: unique("test-push-dlq") });
      await consumer.connect();
      await consumer.subscribe({ topic: deadLetterTopic(TOPIC.pushActions), fromBeginning: true });
      const dead = new Map<string, string>();
      await consumer.run({
        eachMessage: async ({ message }) => {
          const action = JSON.parse(message.value!.toString()) as { action_id: string };
          if (action.action_id.startsWith(run))
            dead.set(action.action_id, message.headers?.["dlq.reason"]?.toString() ?? "");
        },
      });
      await eventually("both failing actions on the DLQ", async () => dead.size === 2);
      await consumer.disconnect();
      expect(dead.get(`${run}-f1`)).toBe("webhook answered HTTP 500 (after 4 attempts)");

      // Replay everything this test produced, as after a crash before the
      // offset commit: no action is delivered a second time.
      await notifier.stop();
      const redis = createRedis(config);
      await deleteKeys(redis, [storeIdKey("notifier"), ...(await keysMatching(redis, offsetsKey("notifier", "*")))]);
      redis.disconnect();
      await admin.setOffsets({
        groupId: groupIdOf(config, "notifier"),
        topic: TOPIC.pushActions,
        partitions: startOffsets.map((p) => ({ partition: p.partition, offset: p.offset })),
      });
      const before = hits.length;
      const replayStats: NotifierStats = { delivered: 0, retried: 0, deadLettered: 0 };
      notifier = await runWorker(notifierWorker(config, replayStats), config);
      await eventually("the replay to be consumed", async () => {
        const committed = await admin.fetchOffsets({
          groupId: groupIdOf(config, "notifier"),
          topics: [TOPIC.pushActions],
        });
        const ends = await admin.fetchTopicOffsets(TOPIC.pushActions);
        return ends.every(
          (end) => committed[0]!.partitions.find((p) => p.partition === end.partition)?.offset === end.high,
        );
      });
      expect(hits.length).toBe(before);
      expect(replayStats).toEqual({ delivered: 0, retried: 0, deadLettered: 0 });
    } finally {
      await notifier.stop();
      await profiles.stop();
      await admin.disconnect();
    }
  }, 120_000);
});
