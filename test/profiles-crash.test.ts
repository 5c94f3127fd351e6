import { describe, expect, test } from "bun:test";
import { createOpenSearch, createRedis } from "../infra/platform/clients.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { type ProfileState, profileId, profileKey, profilesIndex } from "../workers/profiles/view.ts";
import { differingProfiles, profileRun } from "./fixtures/profile-run.ts";
import { eventually, produceWithKills, ROOT, skipToEnd, testConfig, unique } from "./helpers.ts";

const config = testConfig();

/**
 * SIGKILL the profile worker process several times while 50K events flow;
 * after a restart and catch-up every profile equals the one computed here
 * from what was produced: no lost and no double-counted purchases.
 */
describe("profile worker crashes", () => {
  test("killed repeatedly mid-stream, the final profiles are exact", async () => {
    const run = unique("crash");
    const users = 2000;
    const total = 50_000;
    const { partner, records, expected } = profileRun(run, { events: total, users });

    const spawnWorker = (env: Record<string, string>) =>
      Bun.spawn([process.execPath, "workers/main.ts", "profiles"], {
        cwd: ROOT,
        env: { ...process.env, ...env, WORKER_SESSION_TIMEOUT_MS: "6000", WORKER_MAX_BATCH: "500" },
        stdout: "ignore",
        stderr: "ignore",
      });

    await skipToEnd(config, "profiles", [TOPIC.clickstream, TOPIC.identityChanges]);
    const group = { worker: "profiles", topics: [TOPIC.clickstream] };
    const { worker, kills, planned, midBatch } = await produceWithKills(config, records, spawnWorker, {
      slice: 5000,
      killEvery: 10_000,
      group,
    });
    console.log(`profiles crash: ${kills} kills of a worker owning partitions and committing, ${midBatch} mid-batch`);
    expect(planned).toBeGreaterThanOrEqual(4);
    expect(kills).toBe(planned);
    expect(midBatch).toBeGreaterThanOrEqual(1);

    const redis = createRedis(config);
    const userIds = [...expected.keys()];
    const load = async () =>
      (await redis.mget(userIds.map((user) => profileKey(partner, user, { partitions: config.TOPIC_PARTITIONS })))).map(
        (doc) => (doc ? (JSON.parse(doc) as ProfileState).profile : undefined),
      );
    try {
      await eventually(
        "the restarted worker to catch up",
        async () => (await load()).reduce((n, p) => n + (p?.events_total ?? 0), 0) >= total,
        180_000,
      );
      worker.kill("SIGTERM");
      expect(await worker.exited).toBe(0);

      expect(expected.size).toBe(users);
      expect(await differingProfiles(redis, partner, expected, config.TOPIC_PARTITIONS)).toBe(0);

      // The search copy converges to the same documents.
      const search = createOpenSearch(config);
      const index = profilesIndex(config.INDEX_PREFIX);
      await search.indices.refresh({ index });
      const { body } = await search.mget({ index, body: { ids: userIds.map((user) => profileId(partner, user)) } });
      const docs = body.docs as { found: boolean; _source?: { events_total: number; total_purchases: number } }[];
      expect(
        docs.filter((d, i) => !d.found || d._source!.events_total !== expected.get(userIds[i]!)!.events).length,
      ).toBe(0);
      await search.close();
    } finally {
      worker.kill("SIGKILL");
      redis.disconnect();
    }
  }, 300_000);
});
