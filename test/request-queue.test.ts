import { expect, test } from "bun:test";
// @ts-expect-error kafkajs ships no types for its internals
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";
import "../infra/platform/kafka/request-queue.ts";

type Queue = {
  pending: { send(): void; expectResponse: boolean }[];
  throttleCheckTimeoutId: unknown;
  maybeThrottle(ms: number): void;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
};

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const queue = (): Queue =>
  new RequestQueue({ maxInFlightRequests: null, requestTimeout: 1000, clientId: "test", broker: "b", logger: silent });

test("a Kafka connection's request queue arms no timer while nothing waits (kafkajs re-armed a 1 ms one forever)", () => {
  const idle = queue();
  // What an answer from the broker runs.
  idle.checkPendingRequests();
  expect(idle.throttleCheckTimeoutId).toBeNull();
});

test("a request waiting out a throttle is sent when the throttle ends", async () => {
  const throttled = queue();
  throttled.maybeThrottle(30);
  let sentAt = 0;
  const started = performance.now();
  throttled.pending.push({
    send: () => {
      sentAt = performance.now();
    },
    expectResponse: true,
  });
  throttled.scheduleCheckPendingRequests();
  expect(throttled.throttleCheckTimeoutId).not.toBeNull();
  await Bun.sleep(80);
  expect(sentAt - started).toBeGreaterThanOrEqual(25);
  expect(throttled.pending).toHaveLength(0);
  // Sent, nothing left: the queue is quiet again.
  expect(throttled.throttleCheckTimeoutId).toBeNull();
});
