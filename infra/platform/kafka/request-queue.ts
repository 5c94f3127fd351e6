// @ts-expect-error kafkajs ships no types for its internals; the one method below is all this file touches.
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";

type Queue = {
  throttledUntil: number;
  pending: unknown[];
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
};

/**
 * kafkajs schedules its request queue's next check at `throttledUntil - now`
 * even when nothing is throttled (kafkajs 2.2.4; its issue #1704): a
 * negative delay, which the runtime turns into 1 ms while printing a
 * TimeoutNegativeWarning in every process that talks to Kafka. The same
 * schedule with the delay the runtime would have used, so no warning: the
 * throttle's end; else 10 ms (kafkajs' interval) for a pending request; else
 * 1 ms.
 */
(
  RequestQueue as { prototype: Queue & { scheduleCheckPendingRequests(): void } }
).prototype.scheduleCheckPendingRequests = function (this: Queue) {
  if (this.throttleCheckTimeoutId) return;
  const throttledFor = this.throttledUntil - Date.now();
  const delay = throttledFor > 0 ? throttledFor : this.pending.length > 0 ? 10 : 1;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
};
