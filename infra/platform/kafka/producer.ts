import {
  type API,
  type Callback,
  Producer as KafkaProducer,
  kGetApi,
  type MessageToProduce,
} from "@platformatic/kafka";
import type { Config } from "../config.ts";
import { produceDuration, recordsProduced } from "../metrics.ts";
import { javaPartitioner } from "./partitioner.ts";
import { produceApi } from "./produce-request.ts";
import "../tracing-channels.ts";

/** A record to write. `value` is JSON-encoded unless it is already bytes; null is a tombstone. */
export type OutRecord = {
  topic: string;
  key: string | null;
  value: unknown;
  headers?: Record<string, string>;
  /** A partition of its own choosing (a watermark every partition must see); otherwise the key's. */
  partition?: number;
};

export type Producer = {
  /** Resolves only after every record is acknowledged by all in-sync replicas. */
  send(records: readonly OutRecord[]): Promise<void>;
  disconnect(): Promise<void>;
};

/** Bytes as they are; anything else as JSON text, which the request encoder writes as UTF-8 in place. */
function encode(value: unknown): Buffer | string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  return JSON.stringify(value);
}

/**
 * Bytes of values per produce request at most. All of them may go to one
 * partition (a worker's output keyed like its input), and a broker refuses a
 * partition batch over its message.max.bytes (1 MiB by default, Redpanda
 * too), so a request stays well under that; larger sends are split.
 */
const MAX_REQUEST_BYTES = 512 * 1024;

type Message = MessageToProduce<Buffer, Buffer | string, Buffer, Buffer>;
type Encoded = { message: Message; bytes: number };
type Waiting = { records: Encoded[]; resolve(): void; reject(error: unknown): void };

function encodeRecord(record: OutRecord): Encoded {
  const value = encode(record.value);
  const key = record.key === null ? undefined : Buffer.from(record.key);
  const headers = record.headers
    ? new Map(Object.entries(record.headers).map(([name, text]) => [Buffer.from(name), Buffer.from(text)]))
    : undefined;
  const bytes = (value === null ? 0 : Buffer.byteLength(value)) + (key?.length ?? 0) + 64;
  return {
    // A null value is written as a null record value: a tombstone.
    message: { topic: record.topic, key, value: value as Buffer | string, headers, partition: record.partition },
    bytes,
  };
}

/** Consecutive slices of at most MAX_REQUEST_BYTES (a single larger record goes alone). */
function slices(records: Encoded[]): Encoded[][] {
  const out: Encoded[][] = [];
  let current: Encoded[] = [];
  let bytes = 0;
  for (const record of records) {
    if (current.length > 0 && bytes + record.bytes > MAX_REQUEST_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += record.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * The library's producer (idempotence, sequence numbers, retries, leaders)
 * writing its Produce requests with the project's encoder: the library
 * builds a record from a small buffer per field and joins them twice, the
 * largest single cost of the API and the workers (produce-request.ts).
 */
class EncodingProducer extends KafkaProducer<Buffer, Buffer | string, Buffer, Buffer> {
  override [kGetApi]<Arguments extends unknown[], Response>(
    name: string,
    callback: Callback<API<Arguments, Response>>,
  ): void {
    if (name !== "Produce") {
      super[kGetApi](name, callback);
      return;
    }
    super[kGetApi]<Arguments, Response>(name, (error, api) => {
      if (error || !api) callback(error ?? new Error("no Produce API"), undefined as never);
      else callback(null, produceApi(api.version) as unknown as API<Arguments, Response>);
    });
  }
}

/**
 * The project's producer: idempotent, acks=all, and the Java client's
 * murmur2 partitioner so any client writing the same keys agrees on the
 * partition (SPEC §8). It is @platformatic/kafka's (`bun run bench client`
 * measured its producer at ~2.5x kafkajs' in the same run, with the same
 * requests); consumer groups stay on kafkajs, whose consumer read faster.
 * Its default partitioner disagrees with Java's on half the keys; its
 * compatible one agrees but hashes in BigInt, so the partitioner is the
 * project's own 32-bit port of Java's (partitioner.ts).
 *
 * Group commit: one produce request is in flight at a time (what keeps the
 * idempotent producer's sequence numbers safe), and everything `send` was
 * given meanwhile goes out together in the next request. Each caller's
 * promise settles with the request that carried its records.
 */
export async function createProducer(config: Config): Promise<Producer> {
  const producer = new EncodingProducer({
    clientId: config.KAFKA_CLIENT_ID,
    bootstrapBrokers: config.KAFKA_BROKERS,
    idempotent: true,
    acks: -1,
    partitioner: javaPartitioner,
    autocreateTopics: false,
    connectTimeout: 3000,
    timeout: 30_000,
    retries: 5,
    retryDelay: 300,
  });

  const produce = async (records: readonly Encoded[]) => {
    await producer.send({ messages: records.map((r) => r.message) });
  };

  const waiting: Waiting[] = [];
  let draining: Promise<void> | undefined;
  const drain = async () => {
    while (waiting.length > 0) {
      // Whole sends while they fit in one request; a send too big for one
      // goes alone, in as many requests as it needs.
      let bytes = 0;
      let take = 0;
      while (take < waiting.length) {
        const size = waiting[take]!.records.reduce((n, r) => n + r.bytes, 0);
        if (take > 0 && bytes + size > MAX_REQUEST_BYTES) break;
        bytes += size;
        take++;
      }
      const group = waiting.splice(0, take);
      try {
        for (const slice of slices(group.flatMap((w) => w.records))) await produce(slice);
        for (const w of group) w.resolve();
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
    draining = undefined;
  };

  return {
    async send(records) {
      if (records.length === 0) return;
      const took = produceDuration.startTimer();
      await new Promise<void>((resolve, reject) => {
        waiting.push({ records: records.map(encodeRecord), resolve, reject });
        draining ??= drain();
      });
      took();
      // One count per run of records to the same topic (a send is usually one topic).
      let run = 0;
      for (let i = 0; i < records.length; i++) {
        run++;
        if (i + 1 === records.length || records[i + 1]!.topic !== records[i]!.topic) {
          recordsProduced.inc({ topic: records[i]!.topic }, run);
          run = 0;
        }
      }
    },
    async disconnect() {
      await draining;
      await producer.close();
    },
  };
}
