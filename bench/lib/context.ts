import type { Config } from "../../infra/platform/config.ts";
import { applyTopics } from "../../infra/platform/kafka/admin.ts";
import { createKafka } from "../../infra/platform/kafka/client.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { groupIdOf } from "../../workers/runtime/runner.ts";
import type { ChartEntry } from "./chart.ts";
import { type Child, runJson } from "./harness.ts";
import { ms, type Summary } from "./stats.ts";

/** A row of the printed table: a figure beside its baseline from the same run. */
export type Row = { figure: string; value: string; baseline: string; ratio: string };

/** What every scenario gets: the run's settings, its environment, where to put figures, and the group tools. */
export type Bench = {
  quick: boolean;
  wanted(scenario: string): boolean;
  /** The developer's configuration (the stack's servers, the Kafka jars). */
  base: Config;
  /** The bench's own database, Redis db, indices and groups, as settings and as a config. */
  env: Record<string, string>;
  config: Config;
  api: string;
  /** The API's process, for its CPU. */
  apiPid: number;
  partner: string;
  /** An admin key of `partner`. */
  key: string;
  /** Processes to stop when the run ends. */
  children: Child[];
  rows: Row[];
  /** What the SVG chart beside the JSON report draws. */
  chart: ChartEntry[];
  report: Record<string, unknown>;
  tools: ReturnType<typeof groupTools>;
};

export type Load = { achievedRate: number; errors: number; sent: number; latency: Summary };

/** A latency summary as one table cell. */
export const line = (l: Load | { delay: Summary }) => {
  const s = "latency" in l ? l.latency : l.delay;
  return `p50 ${ms(s.p50)} p95 ${ms(s.p95)} p99 ${ms(s.p99)} max ${ms(s.max)}${"latency" in l ? ` (${l.achievedRate.toFixed(0)}/s, ${l.errors} err)` : ""}`;
};

/** Topic sizes and consumer-group positions of the bench's groups. */
export function groupTools(config: Config) {
  async function sizeOf(topic: string, groupId?: string): Promise<{ end: number; committed: number }> {
    const admin = createKafka(config).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(topic);
      const end = ends.reduce((n, p) => n + Number(p.high), 0);
      if (!groupId) return { end, committed: 0 };
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = offsets!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      return { end, committed };
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Wait for a worker's first commit on its topics: catch-up is timed from
   * there, as group joins are not folding. Returns how many records that
   * commit covered: folded before the clock started, so not to be counted.
   */
  async function firstCommit(worker: string, topics: string[]): Promise<number> {
    const committed = async () =>
      (await Promise.all(topics.map((t) => sizeOf(t, groupIdOf(config, worker))))).reduce((n, s) => n + s.committed, 0);
    const before = await committed();
    for (;;) {
      const now = await committed();
      if (now !== before) return now - before;
      await Bun.sleep(20);
    }
  }

  /** Wait until a worker has committed everything on its topics; returns records folded per second. */
  async function waitCaughtUp(label: string, worker = "profiles", topics = [TOPIC.clickstream]): Promise<number> {
    const group = groupIdOf(config, worker);
    const measure = async () => {
      const sizes = await Promise.all(topics.map((t) => sizeOf(t, group)));
      return { end: sizes.reduce((n, s) => n + s.end, 0), committed: sizes.reduce((n, s) => n + s.committed, 0) };
    };
    const first = await measure();
    const started = performance.now();
    let last = first;
    while (last.committed < last.end) {
      await Bun.sleep(200);
      last = await measure();
      process.stdout.write(`\r  ${label}: ${last.end - last.committed} records behind   `);
    }
    process.stdout.write("\n");
    const seconds = (performance.now() - started) / 1000;
    return (last.committed - first.committed) / Math.max(seconds, 0.001);
  }

  /** Move a consumer group to given offsets (per topic, per partition). */
  async function setGroupOffsets(
    groupId: string,
    offsets: Map<string, { partition: number; offset: string }[]>,
  ): Promise<void> {
    const admin = createKafka(config).admin();
    await admin.connect();
    try {
      for (const [topic, partitions] of offsets) await admin.setOffsets({ groupId, topic, partitions });
    } finally {
      await admin.disconnect();
    }
  }

  async function endOffsets(topics: string[]): Promise<Map<string, { partition: number; offset: string }[]>> {
    const admin = createKafka(config).admin();
    await admin.connect();
    try {
      const ends = new Map<string, { partition: number; offset: string }[]>();
      for (const topic of topics)
        ends.set(
          topic,
          (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })),
        );
      return ends;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * The baseline of a worker's throughput: the same records read from the
   * same offsets by a bare kafkajs consumer (no decode, no state, no sink).
   */
  async function bareConsumerRate(
    env: Record<string, string>,
    from: Map<string, { partition: number; offset: string }[]>,
    records: number,
  ) {
    await setGroupOffsets(groupIdOf(config, "consume-baseline"), from);
    const args = ["--group", "consume-baseline", "--topics", [...from.keys()].join(","), "--records", String(records)];
    const bare = await runJson<{ records: number; seconds: number }>(["bench/consume-baseline.ts", ...args], env);
    return { ...bare, recordsPerSecond: bare.records / bare.seconds };
  }

  /** A topic of the bench's own (a baseline's, a source's), partitioned like the declared ones. */
  async function createBenchTopic(name: string, description: string) {
    const admin = createKafka(config).admin();
    await admin.connect();
    try {
      const spec = { name, cleanup: "delete" as const, retentionMs: 3_600_000, description };
      await applyTopics(admin, [spec], { partitions: config.TOPIC_PARTITIONS, replication: 1 });
    } finally {
      await admin.disconnect();
    }
  }

  return { sizeOf, firstCommit, waitCaughtUp, setGroupOffsets, endOffsets, bareConsumerRate, createBenchTopic };
}
