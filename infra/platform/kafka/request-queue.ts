// @ts-expect-error kafkajs ships no types for its internals; the one method below is all this file touches.
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";

type Queue = {
  throttledUntil: number;
  pending: unknown[];
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
};

/**
 * kafkajs re-arms its request queue's check after every check, even with
 * nothing pending (kafkajs 2.2.4; its issue #1704): at `throttledUntil - now`,
 * a negative delay the runtime turns into 1 ms (printing a
 * TimeoutNegativeWarning), so every connection that has had an answer wakes
 * its process a thousand times a second for nothing. A check is only needed
 * while requests wait (a new one arms it, an answer runs it): at the
 * throttle's end, else kafkajs' 10 ms interval.
 */
(
  RequestQueue as { prototype: Queue & { scheduleCheckPendingRequests(): void } }
).prototype.scheduleCheckPendingRequests = function (this: Queue) {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttledFor = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledFor > 0 ? throttledFor : 10,
  );
};
