import { afterAll, describe, expect, test } from "bun:test";
import { createSql } from "../infra/platform/clients.ts";
import { ATTRIBUTION_TOPICS } from "../workers/attribution/worker.ts";
import { compareUntilEqual, prepareCommerceRun } from "./fixtures/commerce-run.ts";
import { produceWithKills, ROOT, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * SIGKILL the process running both attribution stages again and again while
 * the funnel flows; after a restart and catch-up the table must still equal
 * the plain-SQL result, one row per checkout.
 */

const config = testConfig();
const sql = createSql(config, 4);
afterAll(() => sql.end());

describe("attribution worker crashes", () => {
  test("killed repeatedly mid-stream, attributed_checkouts is exact", async () => {
    const runId = unique("acrash");
    const run = await prepareCommerceRun(sql, {
      runId,
      checkouts: 20_000,
      users: 1000,
      partitions: config.TOPIC_PARTITIONS,
      start: Date.now() - 86_400_000,
    });
    await skipToEnd(config, "attribution", [ATTRIBUTION_TOPICS.clicks, ATTRIBUTION_TOPICS.checkouts]);
    await skipToEnd(config, "attributed-checkouts", [ATTRIBUTION_TOPICS.attributed]);
    const spawnWorkers = (env: Record<string, string>) =>
      Bun.spawn([process.execPath, "workers/main.ts", "attribution", "attributed-checkouts"], {
        cwd: ROOT,
        env: { ...process.env, ...env, WORKER_SESSION_TIMEOUT_MS: "6000", WORKER_MAX_BATCH: "500" },
        stdout: "ignore",
        stderr: "ignore",
      });
    const group = { worker: "attribution", topics: [ATTRIBUTION_TOPICS.clicks, ATTRIBUTION_TOPICS.checkouts] };
    const { worker, kills, planned, midBatch } = await produceWithKills(config, run.records, spawnWorkers, {
      slice: 5000,
      killEvery: 20_000,
      group,
    });
    try {
      expect(planned).toBeGreaterThanOrEqual(4);
      expect(kills).toBe(planned);
      expect(midBatch).toBeGreaterThanOrEqual(1);
      const result = await compareUntilEqual(sql, run, runId, config.CLICK_LATENESS_MS);
      console.log(
        `attribution crash: ${kills} kills (${midBatch} mid-batch), ${result.expected} checkouts (${result.attributed} attributed), ${result.actual} rows, ${result.differing} differing`,
      );
      expect(result.actual).toBe(run.checkouts.length);
      expect(result.differing).toBe(0);
    } finally {
      worker.kill("SIGTERM");
      await worker.exited;
    }
  }, 300_000);
});
