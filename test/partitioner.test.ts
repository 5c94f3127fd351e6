import { expect, test } from "bun:test";
import { compatibilityPartitioner } from "@platformatic/kafka";
import { javaPartitioner, murmur2 } from "../infra/platform/kafka/partitioner.ts";

// Known values of Java's Utils.murmur2, from Kafka's own UtilsTest.
const JAVA = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
] as const;

test("murmur2 gives Java's hashes", () => {
  for (const [text, hash] of JAVA) expect(murmur2(Buffer.from(text))).toBe(hash);
});

test("the partitioner agrees with the client library's Java-compatible one on 100,000 keys of every length", () => {
  let checked = 0;
  for (let i = 0; i < 100_000; i++) {
    const key = Buffer.from(`user-${i}-${"é".repeat(i % 7)}${"x".repeat(i % 13)}`);
    expect(javaPartitioner(undefined, key)).toBe(compatibilityPartitioner(undefined as never, key));
    checked++;
  }
  expect(checked).toBe(100_000);
  expect(javaPartitioner(undefined, undefined)).toBe(compatibilityPartitioner(undefined as never, undefined));
});
