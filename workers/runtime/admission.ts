import { admittingUntil } from "../../infra/platform/contracts/fields.ts";
import type { Decoded, InputRecord, Worker } from "./worker.ts";

/**
 * When a record was written to the log: its broker timestamp, never later
 * than now (a producer may stamp any time). It is the record's "now": a
 * replay judges it as it was judged live.
 */
export function writtenAt(record: Pick<InputRecord, "timestamp">): number {
  const stamped = Number(record.timestamp);
  return Number.isFinite(stamped) && stamped > 0 ? Math.min(stamped, Date.now()) : Date.now();
}

/**
 * Decode a record under the admission rule (SPEC §3.7) as of when it was
 * written: an event time beyond that + `clockSkewMs` breaks its contract
 * (the record goes to the DLQ), so it never reaches a stream time.
 */
export const decodeAdmitted = <E>(
  worker: Pick<Worker<E, unknown>, "decode">,
  record: InputRecord,
  clockSkewMs: number,
): Decoded<E> => admittingUntil(record.writtenAt + clockSkewMs, () => worker.decode(record));
