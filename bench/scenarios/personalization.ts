import { upsertUsers } from "../../db/users.ts";
import { createSql } from "../../infra/platform/clients.ts";
import { createProducer } from "../../infra/platform/kafka/producer.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { contentGenerator } from "../../infra/tools/datagen/content.ts";
import { groupIdOf } from "../../workers/runtime/runner.ts";
import { type Bench, line } from "../lib/context.ts";
import { type Child, runJson, spawnBun } from "../lib/harness.ts";
import { freePort, stageWatch } from "../lib/stages.ts";
import type { Summary } from "../lib/stats.ts";

/**
 * Real-time personalization: a backlog of content traffic joined with the
 * users table by the enrich stage (beside a bare consumer reading the same
 * records), then event -> window result with 1-second windows while traffic
 * flows at a fixed rate.
 */
export async function personalizationScenarios(bench: Bench) {
  const { quick, config, env, rows, report } = bench;
  const { firstCommit, waitCaughtUp, setGroupOffsets, endOffsets, bareConsumerRate } = bench.tools;
  const stages: Child[] = [];
  try {
    const events = quick ? 60_000 : 300_000;
    const generator = contentGenerator({
      users: 20_000,
      contents: 2000,
      seed: 17,
      runId: `pb${Date.now().toString(36)}`,
    });
    const start = Date.now() - 3_600_000;
    const records = Array.from({ length: events }, (_, i) => generator.next(start + i)).flatMap((item) =>
      item.kind === "record" ? [item.record] : [],
    );
    const inputs = [TOPIC.beacons, TOPIC.interactions];
    const from = await endOffsets([TOPIC.usersCdc, ...inputs]);
    const users = generator.initialUsers();
    const sql = createSql(config, 2);
    await upsertUsers(sql, users);
    await sql.end();
    const producer = await createProducer(config);
    for (let i = 0; i < records.length; i += 5000) await producer.send(records.slice(i, i + 5000));
    await producer.disconnect();

    const bare = await bareConsumerRate(env, new Map(inputs.map((t) => [t, from.get(t)!])), records.length);

    await setGroupOffsets(groupIdOf(config, "enrich"), from);
    const statusPort = freePort();
    const enrich = spawnBun(["workers/main.ts", "capture", "enrich"], {
      ...env,
      WORKER_STATUS_PORT: String(statusPort),
    });
    stages.push(enrich);
    const topics = [TOPIC.usersCdc, ...inputs];
    const before = await firstCommit("enrich", inputs);
    const started = performance.now();
    const watch = await stageWatch(statusPort, "enrich", enrich.process.pid);
    await waitCaughtUp("enrich catching up", "enrich", topics);
    const seconds = (performance.now() - started) / 1000;
    const spent = await watch.shares("enrich");
    const rate = (records.length - before) / seconds;
    const bareRate = bare.recordsPerSecond;
    rows.push({
      figure: "enrich beacons+interactions/s (join)",
      value: `${rate.toFixed(0)} (${records.length} records, ${seconds.toFixed(1)} s)`,
      baseline: `${bareRate.toFixed(0)} (bare kafkajs consumer, same records)`,
      ratio: `${(rate / bareRate).toFixed(2)}x`,
    });
    rows.push(spent.row);
    bench.chart.push({
      figure: "enrich (join)",
      rate,
      baselineRate: bareRate,
      baselineLabel: "a bare consumer",
      targetRatio: 0.25,
    });
    report.enrichThroughput = {
      records: records.length,
      users: users.length,
      seconds,
      recordsPerSecond: rate,
      baseline: bare,
      stages: spent,
    };

    // The windowed stages start at the ends: the backlog's event times are an hour old.
    const windowed = { ...env, CONTENT_WINDOW_MS: "1000", CONTENT_GRACE_MS: "2000" };
    await setGroupOffsets(groupIdOf(config, "user-activity"), await endOffsets([TOPIC.interactionsEnriched]));
    await setGroupOffsets(groupIdOf(config, "popular-content"), await endOffsets([TOPIC.opens]));
    await setGroupOffsets(groupIdOf(config, "content-views"), await endOffsets([TOPIC.userActivity, TOPIC.popular]));
    stages.push(spawnBun(["workers/main.ts", "user-activity", "popular-content", "content-views"], windowed));
    const trafficRate = 2000;
    const latencySeconds = quick ? 15 : 30;
    console.log(
      `personalization latency: content traffic at ${trafficRate} records/s, 1 s windows, a probe open every 50 ms for ${latencySeconds}s (after one open came through and 2 s more traffic); open -> the user's window readable in Redis`,
    );
    type Latency = {
      probes: number;
      missed: number;
      delay: Summary;
      afterWindowEnd: Summary;
      windows: number;
      warmupMs: number;
      backgroundRecordsPerSecond: number;
    };
    const latency = await runJson<Latency>(
      ["bench/personalization-latency.ts", "--rate", String(trafficRate), "--seconds", String(latencySeconds)],
      windowed,
    );
    rows.push({
      figure: `open -> window result ms (1 s windows)`,
      value: line(latency),
      baseline: "includes the wait for the window to end (0-1 s)",
      ratio: `${latency.probes} probes, ${latency.missed} missed, after ${(latency.warmupMs / 1000).toFixed(1)} s of warm-up`,
    });
    rows.push({
      figure: `window end -> its last probe readable ms`,
      value: line({ delay: latency.afterWindowEnd }),
      baseline: "freshness target p95 <= 100, p99 <= 500",
      ratio: `${latency.windows} windows, ${latency.backgroundRecordsPerSecond.toFixed(0)} of ${trafficRate} records/s`,
    });
    bench.chart.push({ figure: "window end -> result readable", latency: latency.afterWindowEnd, targetP95: 100 });
    report.personalizationLatency = { rate: trafficRate, seconds: latencySeconds, ...latency };
  } finally {
    await Promise.all(stages.map((c) => c.stop()));
  }
}
