/**
 * The stream time of a partition: the newest event time seen,
 * where an event counts no later than when its record was written, so an
 * event stamped ahead (within the admitted clock skew; SPEC §3.7) does not close
 * windows or expire state early. It never goes back. The runner keeps it
 * per input partition for workers that declare `eventTime`; the windowed
 * stages keep theirs in their state by the same rule.
 */
export const advanceStreamTime = (current: number | undefined, eventTime: number, writtenAt: number): number =>
  Math.max(current ?? -Infinity, Math.min(eventTime, writtenAt));
