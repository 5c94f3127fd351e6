import { crc32c } from "@node-rs/crc32";
import {
  type API,
  type CreateRecordsBatchOptions,
  createAPI,
  type MessageRecord,
  produceV3,
  produceV4,
  produceV5,
  produceV6,
  produceV7,
  produceV8,
  produceV9,
  produceV10,
  produceV11,
  Writer,
} from "@platformatic/kafka";

/**
 * A Produce request (versions 3 to 11) written into one buffer. The client
 * library builds each record from several small buffers (one per varint)
 * and joins them twice, for the batch's CRC and for the socket; profiling
 * the API and the workers found that at about a third of their CPU. This
 * writes the same bytes in two passes over the records (sizes, then bytes)
 * into a buffer allocated once; test/produce-request.test.ts checks it
 * byte for byte against the library's own encoder.
 *
 * Uncompressed, non-transactional batches only: the project's producer
 * sets neither compression nor a transaction (producer.ts).
 */

/**
 * A record as the library hands it to the Produce API: key and headers
 * serialized; the value as bytes or as text written here as UTF-8 (the
 * producer's JSON, which then needs no buffer of its own).
 */
type Message = Pick<MessageRecord, "topic"> & {
  key?: Buffer | null;
  value?: Buffer | string | null;
  headers?: Map<Buffer, Buffer> | null;
  partition?: number;
  timestamp?: bigint;
};

type Options = Partial<
  Pick<CreateRecordsBatchOptions, "producerId" | "producerEpoch" | "sequences" | "compression">
> & {
  transactionalId?: string | null;
};

const uvarintSize = (value: number) => {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
};

/** Kafka's signed varints are zig-zag encoded; exact for any safe integer. */
const zigzag = (value: number) => (value >= 0 ? value * 2 : -value * 2 - 1);

function writeUvarint(buffer: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    buffer[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buffer[at++] = value;
  return at;
}

const byteLength = (bytes: Buffer | string | null | undefined) =>
  bytes == null ? -1 : typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.length;

const bytesSize = (length: number) => (length < 0 ? 1 : uvarintSize(zigzag(length)) + length);

/** `length` is the bytes' byteLength, -1 for null. */
function writeBytes(buffer: Buffer, at: number, bytes: Buffer | string | null | undefined, length: number): number {
  at = writeUvarint(buffer, at, zigzag(length));
  if (length <= 0) return at;
  if (typeof bytes === "string") buffer.write(bytes, at);
  else buffer.set(bytes!, at);
  return at + length;
}

/** The record's bytes after its length prefix (attributes to headers). */
function recordBodySize(message: Message, valueLength: number, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + uvarintSize(zigzag(timestampDelta)) + uvarintSize(zigzag(offsetDelta));
  size += bytesSize(byteLength(message.key)) + bytesSize(valueLength);
  const headers = message.headers;
  size += uvarintSize(zigzag(headers?.size ?? 0));
  if (headers) for (const [name, value] of headers) size += bytesSize(name.length) + bytesSize(value.length);
  return size;
}

/** RecordBatch header: baseOffset (8) + batchLength (4) + partitionLeaderEpoch (4) + magic (1) + crc (4) + attributes (2) + lastOffsetDelta (4) + timestamps (16) + producer id (8), epoch (2), base sequence (4) + record count (4). */
const BATCH_HEADER = 61;
/** Where the CRC'd part of a batch starts: after baseOffset, batchLength, partitionLeaderEpoch, magic and crc. */
const CRC_FROM = 21;

/** A partition's batch, sized: each record's body and value length, measured once. */
type Batch = {
  partition: number;
  messages: Message[];
  first: bigint;
  max: bigint;
  bodies: number[];
  valueLengths: number[];
  size: number;
};

function planBatch(partition: number, messages: Message[], now: bigint): Batch {
  const first = messages[0]!.timestamp ?? now;
  let max = first;
  const bodies: number[] = [];
  const valueLengths: number[] = [];
  let size = BATCH_HEADER;
  for (let i = 0; i < messages.length; i++) {
    const timestamp = messages[i]!.timestamp ?? now;
    if (timestamp > max) max = timestamp;
    const valueLength = byteLength(messages[i]!.value);
    const body = recordBodySize(messages[i]!, valueLength, Number(timestamp - first), i);
    bodies.push(body);
    valueLengths.push(valueLength);
    size += uvarintSize(zigzag(body)) + body;
  }
  return { partition, messages, first, max, bodies, valueLengths, size };
}

function writeBatch(buffer: Buffer, at: number, batch: Batch, topic: string, options: Options, now: bigint): number {
  const start = at;
  const { messages } = batch;
  buffer.writeBigInt64BE(0n, at);
  buffer.writeInt32BE(batch.size - 12, at + 8);
  buffer.writeInt32BE(0, at + 12);
  buffer.writeInt8(2, at + 16);
  buffer.writeInt16BE(0, at + 21);
  buffer.writeInt32BE(messages.length - 1, at + 23);
  buffer.writeBigInt64BE(batch.first, at + 27);
  buffer.writeBigInt64BE(batch.max, at + 35);
  buffer.writeBigInt64BE(options.producerId ?? -1n, at + 43);
  buffer.writeInt16BE(options.producerEpoch ?? 0, at + 51);
  buffer.writeInt32BE(options.sequences?.getWithDefault(`${topic}:${batch.partition}`, 0) ?? 0, at + 53);
  buffer.writeInt32BE(messages.length, at + 57);
  at += BATCH_HEADER;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    at = writeUvarint(buffer, at, zigzag(batch.bodies[i]!));
    buffer[at++] = 0;
    at = writeUvarint(buffer, at, zigzag(Number((message.timestamp ?? now) - batch.first)));
    at = writeUvarint(buffer, at, zigzag(i));
    at = writeBytes(buffer, at, message.key, byteLength(message.key));
    at = writeBytes(buffer, at, message.value, batch.valueLengths[i]!);
    at = writeUvarint(buffer, at, zigzag(message.headers?.size ?? 0));
    if (message.headers)
      for (const [name, value] of message.headers) {
        at = writeBytes(buffer, at, name, name.length);
        at = writeBytes(buffer, at, value, value.length);
      }
  }
  buffer.writeUInt32BE(crc32c(buffer.subarray(start + CRC_FROM, at)), start + 17);
  return at;
}

/** Messages by topic (in first-seen order), then by partition (ascending), as the library groups them. */
function byTopicAndPartition(messages: Message[]): Map<string, Map<number, Message[]>> {
  const topics = new Map<string, Map<number, Message[]>>();
  for (const message of messages) {
    let partitions = topics.get(message.topic);
    if (!partitions) topics.set(message.topic, (partitions = new Map()));
    const partition = message.partition ?? 0;
    const list = partitions.get(partition);
    if (list) list.push(message);
    else partitions.set(partition, [message]);
  }
  for (const [topic, partitions] of topics) topics.set(topic, new Map([...partitions].sort(([a], [b]) => a - b)));
  return topics;
}

/** The Produce request body for `version`, in the library's Writer (what its connection sends). */
export function produceRequest(version: number) {
  const flexible = version >= 9;
  const arraySize = (length: number) => (flexible ? uvarintSize(length + 1) : 4);
  const writeArrayLength = (buffer: Buffer, at: number, length: number) => {
    if (flexible) return writeUvarint(buffer, at, length + 1);
    buffer.writeInt32BE(length, at);
    return at + 4;
  };
  const tags = flexible ? 1 : 0;

  return (acks: number, timeout: number, topicData: Message[], options: Options = {}): Writer => {
    if ((options.compression !== undefined && options.compression !== "none") || options.transactionalId)
      throw new Error("the project's produce encoder writes uncompressed, non-transactional batches only");
    const now = BigInt(Date.now());
    const plan = [...byTopicAndPartition(topicData)].map(([topic, partitions]) => ({
      topic,
      name: Buffer.from(topic),
      batches: [...partitions].map(([partition, messages]) => planBatch(partition, messages, now)),
    }));

    // transactional_id (null), acks, timeout, topics array.
    let size = (flexible ? 1 : 2) + 2 + 4 + arraySize(plan.length) + tags;
    for (const { name, batches } of plan) {
      size += (flexible ? uvarintSize(name.length + 1) : 2) + name.length + arraySize(batches.length) + tags;
      for (const batch of batches) size += 4 + (flexible ? uvarintSize(batch.size + 1) : 4) + batch.size + tags;
    }

    const buffer = Buffer.allocUnsafe(size);
    let at = 0;
    if (flexible) buffer[at++] = 0;
    else at = buffer.writeInt16BE(-1, at);
    at = buffer.writeInt16BE(acks, at);
    at = buffer.writeInt32BE(timeout, at);
    at = writeArrayLength(buffer, at, plan.length);
    for (const { topic, name, batches } of plan) {
      if (flexible) at = writeUvarint(buffer, at, name.length + 1);
      else at = buffer.writeInt16BE(name.length, at);
      buffer.set(name, at);
      at += name.length;
      at = writeArrayLength(buffer, at, batches.length);
      for (const batch of batches) {
        at = buffer.writeInt32BE(batch.partition, at);
        if (flexible) at = writeUvarint(buffer, at, batch.size + 1);
        else at = buffer.writeInt32BE(batch.size, at);
        at = writeBatch(buffer, at, batch, topic, options, now);
        if (flexible) buffer[at++] = 0;
      }
      if (flexible) buffer[at++] = 0;
    }
    if (flexible) buffer[at++] = 0;
    if (at !== size) throw new Error(`produce request: wrote ${at} bytes of ${size} planned`);

    const writer = Writer.create().append(buffer);
    // acks=0 gets no response from the broker, and the connection must not wait for one.
    if (acks === 0) writer.context.noResponse = true;
    return writer;
  };
}

const RESPONSES = {
  3: produceV3,
  4: produceV4,
  5: produceV5,
  6: produceV6,
  7: produceV7,
  8: produceV8,
  9: produceV9,
  10: produceV10,
  11: produceV11,
} as const;

const apis = new Map<number, API<unknown[], unknown>>();

/**
 * The Produce API at the version the library chose with the broker: this
 * module's request, the library's response parser (header tagged fields
 * from version 9, the flexible versions).
 */
export function produceApi(version: number): API<unknown[], unknown> {
  const response = RESPONSES[version as keyof typeof RESPONSES];
  if (!response)
    throw new Error(`the project's produce encoder does not write Produce v${version} (it writes v3 to v11)`);
  let api = apis.get(version);
  if (!api) {
    const flexible = version >= 9;
    api = createAPI(0, version, produceRequest(version), response.parseResponse, flexible, flexible);
    apis.set(version, api);
  }
  return api;
}
