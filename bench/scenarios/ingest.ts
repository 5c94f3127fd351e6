import { tmpdir } from "node:os";
import { join } from "node:path";
import { findJdk } from "../../infra/tools/stack/java.ts";
import { kafkaJars } from "../../infra/tools/stack/kafka.ts";
import { listeningPids, waitFor } from "../../infra/tools/stack/net.ts";
import type { Bench } from "../lib/context.ts";
import { averageBytes, benchEvents } from "../lib/events.ts";
import { runJson, spawnBun } from "../lib/harness.ts";
import { freePort, treeCpuSecondsOf } from "../lib/stages.ts";
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
  type IngestLoad = { eventsPerSecond: number; accepted: number; rejected: number; requestLatency: Summary };
  /** The load against one API, with the CPU its processes used meanwhile (in cores: 1 is one core busy). */
  const load = async (url: string, pid: number) => {
    const cpuBefore = await treeCpuSecondsOf(pid);
    const started = performance.now();
    const result = await runJson<IngestLoad>(
      [
        "bench/ingest-load.ts",
        "--url",
        `${url}/v1/events`,
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
    const cores = ((await treeCpuSecondsOf(pid)) - cpuBefore) / ((performance.now() - started) / 1000);
    return { ...result, apiCores: cores };
  };
  console.log(`ingest: POST /v1/events, batches of 100 events of ~${bytes} bytes, 16 connections, ${seconds}s`);
  const result = await load(api, bench.apiPid);
  // The same load against API_PROCESSES=2 on a port of its own: whether a second process finds a core to use here.
  console.log(`ingest: the same load, API_PROCESSES=2`);
  const port = freePort();
  const twoProcesses = spawnBun(["api/server.ts"], { ...env, API_PROCESSES: "2", PORT: String(port) });
  let twoResult: Awaited<ReturnType<typeof load>>;
  try {
    // Both processes listening (each listens once connected to its stores) before the load's connections
    // open: any opened before would all stay on the first.
    await waitFor(
      `two API processes listening on port ${port}`,
      async () => ((await listeningPids(port)).length >= 2 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    twoResult = await load(`http://127.0.0.1:${port}`, twoProcesses.process.pid);
  } finally {
    await twoProcesses.stop();
  }

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
  const cpu = (r: { apiCores: number }) => `API CPU ${(100 * r.apiCores).toFixed(0)}% of a core`;
  rows.push(
    {
      figure: "ingest events/s (API, acks=all)",
      value: `${result.eventsPerSecond.toFixed(0)} (${cpu(result)})`,
      baseline: `${perSecond.toFixed(0)} (ProducerPerformance)`,
      ratio: `${ratio.toFixed(2)}x`,
    },
    {
      figure: "ingest events/s, API_PROCESSES=2",
      value: `${twoResult.eventsPerSecond.toFixed(0)} (${cpu(twoResult)})`,
      baseline: `${perSecond.toFixed(0)} (ProducerPerformance)`,
      ratio: `${(twoResult.eventsPerSecond / perSecond).toFixed(2)}x`,
    },
  );
  bench.chart.push({
    figure: "ingest (API, acks=all)",
    rate: result.eventsPerSecond,
    baselineRate: perSecond,
    baselineLabel: "ProducerPerformance",
    targetRatio: 0.5,
  });
  report.ingest = {
    ...result,
    twoProcesses: twoResult,
    recordBytes: bytes,
    baseline: { tool: "org.apache.kafka.tools.ProducerPerformance", recordsPerSecond: perSecond, summary },
    ratio,
  };
}
