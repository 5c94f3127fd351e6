import { parseArgs } from "node:util";
import {
  compatibilityPartitioner,
  defaultPartitioner,
  Consumer as PlatformaticConsumer,
  Producer as PlatformaticProducer,
} from "@platformatic/kafka";
import { CompressionTypes, Partitioners } from "kafkajs";
import { loadConfig } from "../infra/platform/config.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";

/**
 * One Kafka client in its own process, for the client comparison scenario:
 * `produce` writes `records` records of `bytes` bytes (keys of 100,000 users)
 * in requests of `batch` records, one request in flight, acks=all,
 * idempotent, the Java partitioner (as the project's producer does);
 * `--client project` is the project's producer itself (@platformatic/kafka
 * with the project's Produce request encoder, infra/platform/kafka/producer.ts);
 * `consume` reads them back with a fresh consumer group from the earliest
 * offset, fetching alike, doing nothing with them. Prints records/s as the last line (JSON).
 * With `--check-partitions`, the consumer also counts how many records sit
 * where each of @platformatic/kafka's partitioners would have put them.
 */
const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    client: { type: "string" },
    topic: { type: "string" },
    records: { type: "string" },
    bytes: { type: "string", default: "305" },
    batch: { type: "string", default: "1000" },
    "check-partitions": { type: "boolean", default: false },
  },
});
const config = loadConfig();
const client = values.client as "kafkajs" | "platformatic" | "project";
const topic = values.topic as string;
const records = Number(values.records);
const batch = Number(values.batch);
const bootstrap = config.KAFKA_BROKERS;
const keyOf = (i: number) => `bench-user-${i % 100_000}`;
const value = Buffer.alloc(Number(values.bytes), "x");
/** Both consumers fetch alike: up to 8 MiB per partition and 50 MiB per fetch (kafkajs' defaults are 1 and 10). */
const FETCH = { maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 50 * 1024 * 1024 };

async function produce(): Promise<{ recordsPerSecond: number; seconds: number }> {
  const batches = Math.ceil(records / batch);
  const messagesOf = (b: number) =>
    Array.from({ length: Math.min(batch, records - b * batch) }, (_, j) => ({ key: keyOf(b * batch + j), value }));
  if (client === "kafkajs") {
    const producer = createKafka(config).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const started = performance.now();
    for (let b = 0; b < batches; b++)
      await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: messagesOf(b) });
    const seconds = (performance.now() - started) / 1000;
    await producer.disconnect();
    return { recordsPerSecond: records / seconds, seconds };
  }
  if (client === "project") {
    const producer = await createProducer(config);
    const started = performance.now();
    for (let b = 0; b < batches; b++) await producer.send(messagesOf(b).map((m) => ({ topic, ...m })));
    const seconds = (performance.now() - started) / 1000;
    await producer.disconnect();
    return { recordsPerSecond: records / seconds, seconds };
  }
  const producer = new PlatformaticProducer({
    clientId: "bench-client-compare",
    bootstrapBrokers: bootstrap,
    idempotent: true,
    acks: -1,
    partitioner: compatibilityPartitioner,
    autocreateTopics: false,
  });
  const started = performance.now();
  for (let b = 0; b < batches; b++)
    await producer.send({
      messages: messagesOf(b).map((m) => ({ topic, key: Buffer.from(m.key), value: m.value })),
    });
  const seconds = (performance.now() - started) / 1000;
  await producer.close();
  return { recordsPerSecond: records / seconds, seconds };
}

type Consumed = {
  recordsPerSecond: number;
  seconds: number;
  partitions?: { java: number; platformaticDefault: number };
};

async function consume(): Promise<Consumed> {
  const groupId = `bench-client-${client}-${Date.now().toString(36)}`;
  let seen = 0;
  let first = 0;
  const agree = { java: 0, platformaticDefault: 0 };
  let partitionCount = 0;
  const check = (key: Buffer | null | undefined, partition: number) => {
    if (!values["check-partitions"] || !key) return;
    if (compatibilityPartitioner(undefined as never, key) % partitionCount === partition) agree.java++;
    if (defaultPartitioner(undefined as never, key) % partitionCount === partition) agree.platformaticDefault++;
  };
  const done = Promise.withResolvers<void>();
  if (client === "kafkajs") {
    const kafka = createKafka(config);
    const admin = kafka.admin();
    await admin.connect();
    partitionCount = (await admin.fetchTopicOffsets(topic)).length;
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId, ...FETCH });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch: b }) => {
        first ||= performance.now();
        for (const m of b.messages) check(m.key, b.partition);
        seen += b.messages.length;
        if (seen >= records) done.resolve();
      },
    });
    await done.promise;
    const seconds = (performance.now() - first) / 1000;
    await consumer.disconnect();
    return { recordsPerSecond: seen / seconds, seconds, ...(values["check-partitions"] ? { partitions: agree } : {}) };
  }
  const consumer = new PlatformaticConsumer({
    clientId: "bench-client-compare",
    bootstrapBrokers: bootstrap,
    groupId,
    ...FETCH,
  });
  partitionCount = (await consumer.metadata({ topics: [topic] })).topics.get(topic)?.partitionsCount ?? 0;
  const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false, ...FETCH });
  stream.on("data", (m) => {
    first ||= performance.now();
    check(m.key as Buffer, m.partition);
    seen++;
    if (seen >= records) done.resolve();
  });
  await done.promise;
  const seconds = (performance.now() - first) / 1000;
  await stream.close();
  await consumer.close();
  return { recordsPerSecond: seen / seconds, seconds, ...(values["check-partitions"] ? { partitions: agree } : {}) };
}

const result = positionals[0] === "produce" ? await produce() : await consume();
console.log(JSON.stringify(result));
process.exit(0);
