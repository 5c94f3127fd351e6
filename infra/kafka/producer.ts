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

/**
 * The project's producer: idempotent, acks=all, and the Java client's
 * murmur2 partitioner so any client writing the same keys agrees on the
 * partition (SPEC §8).
 */
export async function createProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return {
    async send(records) {
      if (records.length === 0) return;
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
    },
    disconnect: () => producer.disconnect(),
  };
}
