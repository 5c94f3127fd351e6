import type { Source } from "../../infra/contracts/content.ts";
import type { OutRecord } from "../../infra/kafka/producer.ts";
import type { Folded } from "../worker.ts";

/**
 * Tumbling windows on event time with a grace period (SPEC §2.5), as a fold
 * over one input partition. An event at t belongs to the window starting at
 * floor(t / size) * size, so one exactly at a boundary opens the later
 * window. The partition's stream time is the newest event time it has seen,
 * never later than when that event's record was written (an event stamped
 * ahead, within the allowed clock skew, does not close windows early):
 * - a window's results are sent when the stream time reaches its end;
 * - an event for a window already sent, but whose end + grace the stream
 *   time has not reached, still counts and sends its group's result again;
 * - an event for a window whose end + grace the stream time reached is
 *   dropped (counted as late), and the window itself is forgotten.
 * Every event carries where it entered (source partition and offset); one at
 * or below the last offset counted from its source partition is a replay
 * and changes nothing, so crashes and producer retries never double count.
 */

export type WindowSpec = { sizeMs: number; graceMs: number };

export const windowStart = (time: number, sizeMs: number) => Math.floor(time / sizeMs) * sizeMs;

export type Window<A> = {
  /** Its results were sent (the stream time reached its end). */
  closed: boolean;
  groups: Record<string, A>;
};

/** One partition's open windows (by start, ms) and what it has counted. */
export type WindowState<A> = {
  streamTime: number | null;
  windows: Record<string, Window<A>>;
  /** Source partition -> the last source offset counted. */
  sources: Record<string, string>;
  late: number;
};

export type WindowedAggregation<E, A> = WindowSpec & {
  time(event: E): number;
  source(event: E): Source;
  /** The group the event counts for (a user, a content id); null when it only moves time on. */
  group(event: E): string | null;
  add(aggregate: A | undefined, event: E): A;
  /**
   * Records that carry a window's results: all groups when it closes, or
   * `changed` alone after a late event changed a closed window.
   */
  results(window: { start: number; end: number }, groups: Readonly<Record<string, A>>, changed: string | undefined, lane: number): OutRecord[];
};

export const emptyWindows = <A>(): WindowState<A> => ({ streamTime: null, windows: {}, sources: {}, late: 0 });

/**
 * The fold of one event. A partition's windows are one state, so the window
 * an event touches is updated in place (copying every group per event would
 * be quadratic); a new top-level object tells the runner the state changed.
 */
export function windowedFold<E, A>(aggregation: WindowedAggregation<E, A>) {
  const { sizeMs, graceMs } = aggregation;
  return (state: WindowState<A> | undefined, event: E, lane: number, writtenAt = Infinity): Folded<WindowState<A>> & { replay: boolean } => {
    const current = state ?? emptyWindows<A>();
    const { source_partition, source_offset } = aggregation.source(event);
    const last = current.sources[source_partition];
    if (last !== undefined && BigInt(source_offset) <= BigInt(last)) return { state: state ?? null, replay: true };

    const next: WindowState<A> = { ...current, sources: { ...current.sources, [source_partition]: source_offset } };
    const emit: OutRecord[] = [];
    const time = aggregation.time(event);
    const before = current.streamTime ?? -Infinity;
    const start = windowStart(time, sizeMs);
    const group = aggregation.group(event);
    if (group !== null) {
      if (start + sizeMs + graceMs <= before) {
        next.late++;
      } else {
        const window = (next.windows[start] ??= { closed: false, groups: {} });
        window.groups[group] = aggregation.add(window.groups[group], event);
        if (window.closed) emit.push(...aggregation.results({ start, end: start + sizeMs }, window.groups, group, lane));
      }
    }
    const streamTime = Math.max(before, Math.min(time, writtenAt));
    next.streamTime = streamTime;
    for (const [key, window] of Object.entries(next.windows)) {
      const windowStartMs = Number(key);
      const end = windowStartMs + sizeMs;
      if (!window.closed && end <= streamTime) {
        window.closed = true;
        emit.push(...aggregation.results({ start: windowStartMs, end }, window.groups, undefined, lane));
      }
      if (end + graceMs <= streamTime) delete next.windows[key];
    }
    return { state: next, emit, replay: false };
  };
}
