import { writeUserVersions } from "../../db/users.ts";
import { createSql } from "../../infra/platform/clients.ts";
import { createProducer } from "../../infra/platform/kafka/producer.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { commerceRun } from "../../infra/tools/datagen/commerce.ts";
import { groupIdOf } from "../../workers/runtime/runner.ts";
import { type Bench, line } from "../lib/context.ts";
import { runJson, spawnBun } from "../lib/harness.ts";
import { freePort, stageWatch } from "../lib/stages.ts";
import type { Summary } from "../lib/stats.ts";

/**
 * Checkout attribution: a backlog of the commerce funnel folded by both
 * stages into Postgres (beside a bare consumer reading the same records),
 * then checkout -> row latency with the funnel running at a fixed rate.
 */
export async function attributionScenarios(bench: Bench) {
  const { quick, config, env, rows, report, children } = bench;
  const { firstCommit, waitCaughtUp, setGroupOffsets, endOffsets, bareConsumerRate } = bench.tools;
  const inputs = [TOPIC.clicks, TOPIC.checkouts];
  const checkouts = quick ? 20_000 : 100_000;
  const { records, versions } = commerceRun({
    users: 20_000,
    products: 2000,
    seed: 5,
    runId: `ab${Date.now().toString(36)}`,
    start: Date.now() - 86_400_000,
    sessionsPerSecond: 40,
    checkouts,
  });
  const made = records.filter((r) => r.topic === TOPIC.checkouts).length;
  const sql = createSql(config, 2);
  await writeUserVersions(sql, versions);
  await sql.end();
  const start = await endOffsets(inputs);
  const producer = await createProducer(config);
  for (let i = 0; i < records.length; i += 5000) await producer.send(records.slice(i, i + 5000));
  await producer.disconnect();

  const bare = await bareConsumerRate(env, start, records.length);

  await setGroupOffsets(groupIdOf(config, "attribution"), start);
  await setGroupOffsets(groupIdOf(config, "attributed-checkouts"), await endOffsets([TOPIC.attributed]));
  const statusPort = freePort();
  const stages = spawnBun(["workers/main.ts", "attribution", "attributed-checkouts"], {
    ...env,
    WORKER_STATUS_PORT: String(statusPort),
  });
  children.push(stages);
  const before = await firstCommit("attribution", inputs);
  const started = performance.now();
  const watches = await Promise.all(
    ["attribution", "attributed-checkouts"].map((worker) => stageWatch(statusPort, worker, stages.process.pid)),
  );
  await waitCaughtUp("attribution catching up", "attribution", inputs);
  await waitCaughtUp("rows catching up", "attributed-checkouts", [TOPIC.attributed]);
  const seconds = (performance.now() - started) / 1000;
  const [attributing, writing] = [
    await watches[0]!.shares("attribution (stage 1)"),
    await watches[1]!.shares("attributed-checkouts (stage 2)"),
  ];
  const throughput = (records.length - before) / seconds;
  const bareRate = bare.recordsPerSecond;
  rows.push({
    figure: "attribution clicks+checkouts/s -> Postgres",
    value: `${throughput.toFixed(0)} (${records.length} records, ${made} checkouts, ${seconds.toFixed(1)} s)`,
    baseline: `${bareRate.toFixed(0)} (bare kafkajs consumer, same records)`,
    ratio: `${(throughput / bareRate).toFixed(2)}x`,
  });
  rows.push(attributing.row, writing.row);
  bench.chart.push({
    figure: "attribution (both stages)",
    rate: throughput,
    baselineRate: bareRate,
    baselineLabel: "a bare consumer",
    targetRatio: 0.25,
  });
  report.attributionThroughput = {
    records: records.length,
    checkouts: made,
    seconds,
    recordsPerSecond: throughput,
    baseline: bare,
    stages: { attribution: attributing, attributedCheckouts: writing },
  };

  const rate = 2000;
  const latencySeconds = quick ? 15 : 30;
  console.log(
    `attribution latency: funnel at ${rate} records/s, a probe click + checkout every 50 ms for ${latencySeconds}s; checkout ack -> attributed row in Postgres`,
  );
  const latency = await runJson<{ probes: number; missed: number; backgroundRecordsPerSecond: number; delay: Summary }>(
    ["bench/attribution-latency.ts", "--rate", String(rate), "--seconds", String(latencySeconds)],
    env,
  );
  rows.push({
    figure: `checkout -> row ms (funnel ${latency.backgroundRecordsPerSecond.toFixed(0)} of ${rate} records/s asked)`,
    value: line(latency),
    baseline: "freshness target p95 <= 100, p99 <= 500",
    ratio: `${latency.probes} probes, ${latency.missed} missed`,
  });
  bench.chart.push({ figure: "checkout -> attributed row", latency: latency.delay, targetP95: 100 });
  report.attributionLatency = { rate, seconds: latencySeconds, ...latency };
}
