import { afterAll, describe, expect, test } from "bun:test";
import { createSql } from "../infra/platform/clients.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { ATTRIBUTION_TOPICS, attributedCheckoutsWorker, attributionWorker } from "../workers/attribution/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { compareUntilEqual, prepareCommerceRun } from "./fixtures/commerce-run.ts";
import { skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * The commerce datagen's funnel (clicks, checkouts, late clicks, renames)
 * through both stages on the real topics; attributed_checkouts must equal
 * what plain SQL computes from the same clicks, checkouts and user history.
 */

const config = testConfig();
const sql = createSql(config, 4);
const workers: RunningWorker[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await sql.end();
});

describe("checkout attribution over datagen traffic", () => {
  test("100K checkouts: every row equals the plain-SQL result", async () => {
    const runId = unique("e2e");
    const run = await prepareCommerceRun(sql, {
      runId,
      checkouts: 100_000,
      users: 3000,
      partitions: config.TOPIC_PARTITIONS,
      start: Date.now() - 3 * 86_400_000,
    });
    const names = { attribution: `${runId}-attribution`, rows: `${runId}-rows` };
    await skipToEnd(config, names.attribution, [ATTRIBUTION_TOPICS.clicks, ATTRIBUTION_TOPICS.checkouts]);
    await skipToEnd(config, names.rows, [ATTRIBUTION_TOPICS.attributed]);
    workers.push(await runWorker(attributionWorker(config, { name: names.attribution }), config));
    workers.push(await runWorker(attributedCheckoutsWorker(config, { name: names.rows }), config));

    const producer = await createProducer(config);
    for (let i = 0; i < run.records.length; i += 5000) await producer.send(run.records.slice(i, i + 5000));
    await producer.disconnect();

    const result = await compareUntilEqual(sql, run, runId, config.CLICK_LATENESS_MS);
    console.log(
      `attribution e2e: ${run.checkouts.length} checkouts (${result.attributed} attributed), ${run.clicks.length} clicks (${result.dropped_clicks} later than the allowance), ${result.actual} rows, ${result.differing} differing`,
    );
    expect(result.expected).toBe(run.checkouts.length);
    expect(result.actual).toBe(run.checkouts.length);
    expect(result.differing).toBe(0);
    // The funnel exercises every branch: attributed, unattributed, late clicks dropped.
    expect(result.attributed).toBeGreaterThan(result.expected * 0.3);
    expect(result.expected - result.attributed).toBeGreaterThan(result.expected * 0.05);
    expect(result.dropped_clicks).toBeGreaterThan(0);
  }, 300_000);
});
