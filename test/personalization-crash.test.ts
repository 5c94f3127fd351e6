import { afterAll, describe, expect, test } from "bun:test";
import { contentRoutes, windowName } from "../api/routes/content.ts";
import { createRedis } from "../infra/platform/clients.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { PERSONALIZATION_TOPICS as topics } from "../workers/personalization/worker.ts";
import { groupIdOf } from "../workers/runtime/runner.ts";
import { compareViews, prepareContentRun } from "./fixtures/content-run.ts";
import { eventually, produceWithKills, ROOT, recordsIn, skipToEnd, testConfig, unique, withKey } from "./helpers.ts";

/**
 * SIGKILL the process running the whole personalization pipeline again and
 * again while content traffic flows; after a restart and catch-up every
 * window result must equal the values computed from what was produced: no
 * open lost, none counted twice.
 */

const WINDOW_MS = 5000;
const GRACE_MS = 600_000;
const config = testConfig();
const redis = createRedis(config);
afterAll(() => redis.disconnect());

const STAGES = {
  enrich: [topics.users, topics.beacons, topics.interactions],
  "user-activity": [topics.interactionsEnriched],
  "popular-content": [topics.opens],
  "content-views": [topics.userActivity, topics.popular],
};

/** Every stage's group has committed up to its inputs' ends. */
async function caughtUp(): Promise<boolean> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    for (const [stage, inputs] of Object.entries(STAGES)) {
      for (const topic of inputs) {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: groupIdOf(config, stage), topics: [topic] });
        const at = new Map(committed!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
        if (ends.some((end) => (at.get(end.partition) ?? -1n) < BigInt(end.high))) return false;
      }
    }
    return true;
  } finally {
    await admin.disconnect();
  }
}

describe("personalization worker crashes", () => {
  test("killed repeatedly mid-stream, every window result is exact", async () => {
    const runId = unique("pcrash");
    const run = prepareContentRun({
      runId,
      events: 30_000,
      users: 300,
      contents: 100,
      topics,
      windowMs: WINDOW_MS,
      graceMs: GRACE_MS,
      topN: config.POPULAR_TOP_N,
      start: Date.now() - 3_600_000,
    });
    for (const [stage, inputs] of Object.entries(STAGES)) await skipToEnd(config, stage, inputs);
    const opensBefore = await recordsIn(config, topics.opens);
    const opened = run.records.filter(
      (r) => r.topic === topics.interactions && (r.value as { action: string }).action === "opened",
    ).length;
    const spawnWorkers = (env: Record<string, string>) =>
      Bun.spawn([process.execPath, "workers/main.ts", ...Object.keys(STAGES)], {
        cwd: ROOT,
        env: {
          ...process.env,
          ...env,
          CONTENT_WINDOW_MS: String(WINDOW_MS),
          CONTENT_GRACE_MS: String(GRACE_MS),
          WORKER_SESSION_TIMEOUT_MS: "6000",
          WORKER_MAX_BATCH: "500",
        },
        stdout: "ignore",
        stderr: "ignore",
      });
    const [enrich, enrichInputs] = Object.entries(STAGES)[0]!;
    const { worker, kills, planned, midBatch } = await produceWithKills(config, run.records, spawnWorkers, {
      slice: 2000,
      killEvery: 6000,
      group: { worker: enrich, topics: enrichInputs },
    });
    try {
      expect(planned).toBeGreaterThanOrEqual(4);
      expect(kills).toBe(planned);
      expect(midBatch).toBeGreaterThanOrEqual(1);
      // The sentinels close every window only once everything before them went through.
      await eventually("every stage to catch up", caughtUp, 240_000);
      // Replays after a kill send some opens to the repartition topic again (beside the watermarks); the counts must not see them twice.
      const repartitioned = (await recordsIn(config, topics.opens)) - opensBefore;
      const producer = await createProducer(config);
      await producer.send(run.sentinels(config.TOPIC_PARTITIONS));
      await producer.disconnect();

      const app = withKey(
        contentRoutes({ redis, windowMs: WINDOW_MS, topN: config.POPULAR_TOP_N, partitions: config.TOPIC_PARTITIONS }),
        ["content:read"],
      );
      const userIds = Array.from({ length: 300 }, (_, i) => `${runId}-u${i}`);
      let comparison = await compareViews(app, run, windowName(WINDOW_MS), userIds);
      const deadline = Date.now() + 120_000;
      while (comparison.differences.length > 0 && Date.now() < deadline) {
        await Bun.sleep(500);
        comparison = await compareViews(app, run, windowName(WINDOW_MS), userIds);
      }
      console.log(
        `personalization crash: ${kills} kills (${midBatch} mid-batch), ${run.records.length} records, ${opened} opens; ${repartitioned} records on content.opens (the opens, those sent again after a kill, and the watermarks); ${comparison.windows} user windows, ${comparison.popularWindows} popular windows, ${comparison.differences.length} differing`,
      );
      expect(comparison.differences.slice(0, 5)).toEqual([]);
      expect(comparison.windows).toBeGreaterThan(1000);
    } finally {
      worker.kill("SIGTERM");
      await worker.exited;
    }
  }, 600_000);
});
