import { describe, expect, test } from "bun:test";
import { createRedis } from "../infra/platform/clients.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { socialGenerator } from "../infra/tools/datagen/social.ts";
import { type UserInfoState, userInfoDocument, userInfoKey } from "../workers/userinfo/view.ts";
import { expectedDocuments } from "./fixtures/social-expected.ts";
import { eventually, produceWithKills, ROOT, skipToEnd, testConfig, unique } from "./helpers.ts";

const config = testConfig();

/**
 * Both user-info stages in one process, SIGKILLed several times while 30K
 * upstream records flow: after a restart and catch-up every document equals
 * the one computed from what was produced (no count lost or applied twice,
 * although stage 1 re-emits deltas after each crash).
 */
describe("user-info workers crash", () => {
  test("killed repeatedly mid-stream, every document is exact", async () => {
    const run = unique("socx");
    const users = 1000;
    const generator = socialGenerator({ users, seed: 23, runId: run });
    const records = Array.from({ length: 30_000 }, () => generator.next());
    const expected = expectedDocuments(records, run, users);

    await skipToEnd(config, "social-edges", [TOPIC.tweets, TOPIC.follows, TOPIC.likes]);
    await skipToEnd(config, "userinfo", [TOPIC.usersChangelog, TOPIC.userinfoDeltas]);
    const spawnWorkers = (env: Record<string, string>) =>
      Bun.spawn([process.execPath, "workers/main.ts", "social-edges", "userinfo"], {
        cwd: ROOT,
        env: { ...process.env, ...env, WORKER_SESSION_TIMEOUT_MS: "6000", WORKER_MAX_BATCH: "300" },
        stdout: "ignore",
        stderr: "ignore",
      });

    const group = { worker: "social-edges", topics: [TOPIC.tweets, TOPIC.follows, TOPIC.likes] };
    const {
      worker: workers,
      kills,
      planned,
      midBatch,
    } = await produceWithKills(config, records, spawnWorkers, { slice: 3000, killEvery: 9000, group });
    console.log(`userinfo crash: ${kills} kills of workers owning partitions and committing, ${midBatch} mid-batch`);
    expect(planned).toBeGreaterThanOrEqual(3);
    expect(kills).toBe(planned);
    expect(midBatch).toBeGreaterThanOrEqual(1);

    const redis = createRedis(config);
    const ids = [...expected.keys()];
    const current = async () =>
      (await redis.mget(ids.map((id) => userInfoKey(id, { partitions: config.TOPIC_PARTITIONS })))).map((raw) =>
        raw ? userInfoDocument(JSON.parse(raw) as UserInfoState) : null,
      );
    const want = ids.map((id) => expected.get(id) ?? null);
    try {
      await eventually(
        "the documents to converge",
        async () => JSON.stringify(await current()) === JSON.stringify(want),
        180_000,
      );
      workers.kill("SIGTERM");
      expect(await workers.exited).toBe(0);
      expect((await current()) as unknown[]).toEqual(want);
    } finally {
      workers.kill("SIGKILL");
      redis.disconnect();
    }
  }, 300_000);
});
