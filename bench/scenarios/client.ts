import { createKafka } from "../../infra/platform/kafka/client.ts";
import type { Bench } from "../lib/context.ts";
import { runJson } from "../lib/harness.ts";

type Produced = { recordsPerSecond: number; seconds: number };
type Consumed = Produced & { partitions?: { java: number; platformaticDefault: number } };

/**
 * kafkajs against @platformatic/kafka in the same run, each in its own
 * process: the producer as the project uses it (acks=all, idempotent, one
 * request in flight, the Java partitioner) and a bare group consumer from
 * the earliest offset; then the project's own producer (the library with
 * the project's Produce request encoder) against both. Each client writes a
 * fresh topic of its own with the same records; each reads back the one
 * kafkajs wrote, and the @platformatic/kafka reader counts where its
 * partitioners would have put each key.
 */
export async function clientScenario(bench: Bench) {
  const { quick, env, rows, report, config } = bench;
  const records = quick ? 200_000 : 1_000_000;
  const run = Date.now().toString(36);
  const topics = {
    kafkajs: `bench.client-kafkajs-${run}`,
    platformatic: `bench.client-platformatic-${run}`,
    project: `bench.client-project-${run}`,
  };
  for (const topic of Object.values(topics)) await bench.tools.createBenchTopic(topic, "client comparison");
  const args = (command: string, client: string, topic: string, extra: string[] = []) => [
    "bench/client-compare.ts",
    command,
    "--client",
    client,
    "--topic",
    topic,
    "--records",
    String(records),
    ...extra,
  ];
  try {
    const produced: Record<string, Produced> = {};
    const consumed: Record<string, Consumed> = {};
    for (const client of ["kafkajs", "platformatic", "project"] as const) {
      console.log(`client: ${client} produces ${records} records of 305 bytes (requests of 1,000, acks=all)`);
      produced[client] = await runJson<Produced>(args("produce", client, topics[client]), env);
    }
    for (const client of ["kafkajs", "platformatic"] as const) {
      console.log(`client: ${client} consumes ${records} records`);
      consumed[client] = await runJson<Consumed>(args("consume", client, topics.kafkajs), env);
    }
    // Apart from the timed reads: hashing every key twice would slow the reader down.
    const placed = await runJson<Consumed>(
      args("consume", "platformatic", topics.kafkajs, ["--check-partitions"]),
      env,
    );
    const [pp, kp, pc, kc, op] = [
      produced.platformatic,
      produced.kafkajs,
      consumed.platformatic,
      consumed.kafkajs,
      produced.project,
    ].map((r) => r?.recordsPerSecond ?? Number.NaN) as [number, number, number, number, number];
    rows.push(
      {
        figure: "produce records/s, @platformatic/kafka",
        value: pp.toFixed(0),
        baseline: `${kp.toFixed(0)} (kafkajs)`,
        ratio: `${(pp / kp).toFixed(2)}x`,
      },
      {
        figure: "produce records/s, the project's producer (its own request encoder)",
        value: op.toFixed(0),
        baseline: `${pp.toFixed(0)} (@platformatic/kafka's encoder), ${kp.toFixed(0)} (kafkajs)`,
        ratio: `${(op / pp).toFixed(2)}x, ${(op / kp).toFixed(2)}x`,
      },
      {
        figure: "consume records/s, @platformatic/kafka",
        value: pc.toFixed(0),
        baseline: `${kc.toFixed(0)} (kafkajs)`,
        ratio: `${(pc / kc).toFixed(2)}x`,
      },
    );
    bench.chart.push(
      { figure: "produce, @platformatic/kafka", rate: pp, baselineRate: kp, baselineLabel: "kafkajs" },
      { figure: "produce, the project's producer", rate: op, baselineRate: pp, baselineLabel: "@platformatic/kafka" },
      { figure: "consume, @platformatic/kafka", rate: pc, baselineRate: kc, baselineLabel: "kafkajs" },
    );
    const agree = placed.partitions;
    if (agree)
      rows.push({
        figure: "keys where Java put them (of records)",
        value: `compatibilityPartitioner ${agree.java}, defaultPartitioner ${agree.platformaticDefault}`,
        baseline: `${records} (written by kafkajs' Java partitioner)`,
        ratio: "-",
      });
    report.client = { records, recordBytes: 305, produced, consumed };
  } finally {
    const admin = createKafka(config).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
    await admin.disconnect();
  }
}
