import { tmpdir } from "node:os";
import { join } from "node:path";
import { findJdk } from "../../infra/tools/stack/java.ts";
import { kafkaJars } from "../../infra/tools/stack/kafka.ts";
import type { Bench } from "../lib/context.ts";
import { averageBytes, benchEvents } from "../lib/events.ts";
import { runJson } from "../lib/harness.ts";
import type { Summary } from "../lib/stats.ts";

export async function ingestScenario(bench: Bench) {
  const { quick, config, env, api, partner, key, rows, report, base } = bench;
  const seconds = quick ? 8 : 20;
  const events = benchEvents(200_000, { runId: `in${Date.now().toString(36)}`, users: 100_000, partner });
  const bytes = averageBytes(events);
  const batches: unknown[][] = [];
  for (let i = 0; i < events.length; i += 100) batches.push(events.slice(i, i + 100));
  const file = join(tmpdir(), `cdp-bench-batches-${process.pid}.json`);
  await Bun.write(file, JSON.stringify(batches));
  console.log(`ingest: POST /v1/events, batches of 100 events of ~${bytes} bytes, 16 connections, ${seconds}s`);
  const result = await runJson<{
    eventsPerSecond: number;
    accepted: number;
    rejected: number;
    requestLatency: Summary;
  }>(
    [
      "bench/ingest-load.ts",
      "--url",
      `${api}/v1/events`,
      "--auth",
      key,
      "--batches",
      file,
      "--connections",
      "16",
      "--seconds",
      String(seconds),
    ],
    env,
  );

  // Baseline: Kafka's own producer benchmark, same record size and acks, a topic like clickstream.events.
  const topic = "bench.producer-perf";
  await bench.tools.createBenchTopic(topic, "bench baseline");
  const records = quick ? 1_000_000 : 3_000_000;
  console.log(`baseline: kafka ProducerPerformance, ${records} records of ${bytes} bytes, acks=all`);
  const jdk = findJdk(17);
  const perf = Bun.spawn(
    [
      jdk.java,
      "-Xmx512m",
      "-cp",
      `${await kafkaJars(base)}/*`,
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      topic,
      "--num-records",
      String(records),
      "--record-size",
      String(bytes),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${config.KAFKA_BROKERS.join(",")}`,
      "acks=all",
      "enable.idempotence=true",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(perf.stdout).text();
  await perf.exited;
  const summary = out.trim().split("\n").pop() ?? "";
  const perSecond = Number(summary.match(/([\d.]+) records\/sec/)?.[1] ?? NaN);
  const ratio = result.eventsPerSecond / perSecond;
  rows.push({
    figure: "ingest events/s (API, acks=all)",
    value: result.eventsPerSecond.toFixed(0),
    baseline: `${perSecond.toFixed(0)} (ProducerPerformance)`,
    ratio: `${ratio.toFixed(2)}x`,
  });
  bench.chart.push({
    figure: "ingest (API, acks=all)",
    rate: result.eventsPerSecond,
    baselineRate: perSecond,
    baselineLabel: "ProducerPerformance",
    targetRatio: 0.5,
  });
  report.ingest = {
    ...result,
    recordBytes: bytes,
    baseline: { tool: "org.apache.kafka.tools.ProducerPerformance", recordsPerSecond: perSecond, summary },
    ratio,
  };
}
