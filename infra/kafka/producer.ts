import { CompressionTypes, Partitioners, type Kafka, type Message } from "kafkajs";

/** A record to write. `value` is JSON-encoded unless it is already bytes; null is a tombstone. */
export type OutRecord = {
  topic: string;
  key: string | null;
  value: unknown;
  headers?: Record<string, string>;
};

export type Producer = {
  /** Resolves only after every record is acknowledged by all in-sync replicas. */
  send(records: readonly OutRecord[]): Promise<void>;
  disconnect(): Promise<void>;
};

function encode(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  return Buffer.from(JSON.stringify(value));
}

/** Records per produce request at most; the rest wait for the next one. */
const MAX_GROUP = 5000;

type Waiting = { records: readonly OutRecord[]; resolve(): void; reject(error: unknown): void };

/**
 * The project's producer: idempotent, acks=all, and the Java client's
 * murmur2 partitioner so any client writing the same keys agrees on the
 * partition (SPEC §8).
 *
 * Group commit: one produce request is in flight at a time (what keeps the
 * idempotent producer's sequence numbers safe), and everything `send` was
 * given meanwhile goes out together in the next request. Each caller's
 * promise settles with the request that carried its records.
 */
export async function createProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();

  const produce = async (records: readonly OutRecord[]) => {
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      const messages = byTopic.get(record.topic) ?? [];
      messages.push({ key: record.key, value: encode(record.value), headers: record.headers });
      byTopic.set(record.topic, messages);
    }
    await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  };

  const waiting: Waiting[] = [];
  let draining: Promise<void> | undefined;
  const drain = async () => {
    while (waiting.length > 0) {
      let count = 0;
      const take = waiting.findIndex((w) => (count += w.records.length) > MAX_GROUP);
      const group = waiting.splice(0, take <= 0 ? (take === 0 ? 1 : waiting.length) : take);
      try {
        await produce(group.flatMap((w) => w.records));
        for (const w of group) w.resolve();
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
    draining = undefined;
  };

  return {
    send(records) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ records, resolve, reject });
        draining ??= drain();
      });
    },
    async disconnect() {
      await draining;
      await producer.disconnect();
    },
  };
}
