import { describe, expect, test } from "bun:test";
import * as kafka from "@platformatic/kafka";
import fc from "fast-check";
import { produceRequest } from "../infra/platform/kafka/produce-request.ts";

/**
 * The project's Produce request encoder against the client library's own,
 * byte for byte: same messages, same producer state, every request version
 * the library speaks. No broker: a request is pure bytes (the suite's
 * producer tests send them to a real one).
 */
type Message = {
  topic: string;
  partition: number;
  key?: Buffer | null;
  value: Buffer | string | null;
  headers: Map<Buffer, Buffer>;
  timestamp: bigint;
};

const VERSIONS = [3, 4, 5, 6, 7, 8, 9, 10, 11] as const;
const library = (version: number) =>
  (kafka as unknown as Record<string, { createRequest(...args: unknown[]): kafka.Writer }>)[`produceV${version}`]!;

const bytes = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  // Lengths whose varints take two and three bytes.
  fc.integer({ min: 64, max: 20_000 }).map((n) => Buffer.alloc(n, n % 251)),
);
const message = (timestamp: bigint) =>
  fc.record({
    topic: fc.constantFrom("orders", "clicks.raw", "t"),
    partition: fc.integer({ min: 0, max: 13 }),
    key: fc.option(bytes, { nil: undefined }),
    // Text is the producer's JSON, written as UTF-8 by the encoder (the library is given its bytes).
    value: fc.option(fc.oneof(bytes, fc.string({ unit: "binary", maxLength: 300 }), fc.json()), { nil: null }),
    headers: fc
      .array(fc.tuple(bytes, bytes), { maxLength: 3 })
      .map((entries) => new Map(entries.map(([name, value]) => [name, value]))),
    timestamp: fc.integer({ min: -100_000, max: 100_000 }).map((delta) => timestamp + BigInt(delta)),
  });
const producerState = fc.record({
  producerId: fc.bigInt({ min: 0n, max: 2n ** 62n }),
  producerEpoch: fc.integer({ min: 0, max: 32_767 }),
  sequence: fc.integer({ min: 0, max: 2 ** 31 - 1 - 13 }),
});

const sequencesFor = (messages: Message[], first: number) => {
  const sequences = new kafka.NumericMap();
  for (const { topic, partition } of messages) sequences.set(`${topic}:${partition}`, first + partition);
  return sequences;
};
// The library stamps and reorders what it is given; each encoder gets its own copies.
const copies = (messages: Message[]) => messages.map((m) => ({ ...m }));
const asBytes = (messages: Message[]) =>
  messages.map((m) => ({ ...m, value: typeof m.value === "string" ? Buffer.from(m.value) : m.value }));

describe("the Produce request encoder", () => {
  test("writes the library's bytes for every version, producer state and record shape", () => {
    const now = BigInt(Date.now());
    let compared = 0;
    fc.assert(
      fc.property(
        fc.array(message(now), { minLength: 1, maxLength: 30 }),
        producerState,
        fc.constantFrom(...VERSIONS),
        fc.constantFrom(-1, 1, 0),
        (messages, state, version, acks) => {
          const options = {
            producerId: state.producerId,
            producerEpoch: state.producerEpoch,
            sequences: sequencesFor(messages, state.sequence),
          };
          const ours = produceRequest(version)(acks, 30_000, copies(messages), options);
          const theirs = library(version).createRequest(acks, 30_000, asBytes(messages), options);
          expect(ours.buffer.equals(theirs.buffer)).toBe(true);
          expect(ours.context.noResponse ?? false).toBe(theirs.context.noResponse ?? false);
          compared++;
        },
      ),
      { numRuns: 1500 },
    );
    expect(compared).toBe(1500);
  });

  test("stamps records without a timestamp with the time of the request, as the library does", () => {
    const messages = [
      { topic: "t", partition: 0, key: Buffer.from("k"), value: '{"name":"Zoë 🚀"}', headers: new Map() },
      { topic: "t", partition: 0, key: null, value: null, headers: new Map() },
    ];
    const options = { producerId: 7n, producerEpoch: 1, sequences: new kafka.NumericMap() };
    // Both read the clock; retry across a millisecond boundary.
    for (let attempt = 0; attempt < 5; attempt++) {
      const ours = produceRequest(11)(-1, 1000, copies(messages as Message[]), options).buffer;
      const theirs = library(11).createRequest(-1, 1000, asBytes(messages as Message[]), options).buffer;
      if (ours.equals(theirs)) return;
    }
    throw new Error("the two encoders never agreed on records without a timestamp");
  });

  test("refuses compression and transactions, which it does not write", () => {
    const messages = [{ topic: "t", partition: 0, value: Buffer.from("v"), headers: new Map() }];
    expect(() => produceRequest(11)(-1, 1000, messages, { compression: "gzip" })).toThrow(/uncompressed/);
    expect(() => produceRequest(11)(-1, 1000, messages, { transactionalId: "tx" })).toThrow(/non-transactional/);
  });
});
