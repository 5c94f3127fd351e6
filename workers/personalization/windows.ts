import type { Source } from "../../infra/platform/contracts/content.ts";
import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import { applyOnce, type SourceOffsets } from "../runtime/source-offsets.ts";
import { advanceStreamTime } from "../runtime/stream-time.ts";
import type { Folded } from "../runtime/worker.ts";

/**
 * Tumbling windows on event time with a grace period (SPEC §2.5), as a fold
 * over one input partition. An event at t belongs to the window starting at
 * floor(t / size) * size, so one exactly at a boundary opens the later
 * window. The partition has a stream time:
 * - a window's results are sent when the stream time reaches its end;
 * - an event for a window already sent, but whose end + grace the stream
 *   time has not reached, still counts and sends its group's result again;
 * - an event for a window whose end + grace the stream time reached is late:
 *   it is counted, not applied, and handed back (the runner dead-letters it
 *   with the reason), and the window itself is forgotten.
 * Over a direct input the stream time is the newest event time seen, never
 * later than when that event's record was written (an event stamped ahead,
 * within the allowed clock skew, does not close windows early). Over a
 * repartition topic it is a watermark: each record carries the stream time
 * of the upstream partition it came from, and the stream time is the least
 * of those over every upstream partition (an upstream partition silent for
 * `idleMs` of write time, while others wrote, no longer holds it back), so
 * records of one upstream partition arriving long before another's (a
 * backlog) are not late.
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
  sources: SourceOffsets;
  late: number;
  /** Over a repartition topic: per upstream partition, its latest watermark and when it last wrote. */
  upstream?: Record<string, { watermark: number; writtenAt: number }>;
  /** When the first record this partition folded was written (an upstream partition never heard of is idle from then). */
  firstWrite?: number;
};

/** A repartitioned input: how many upstream partitions there are, and when a silent one stops holding the watermark back. */
export type Watermarks = { upstreamPartitions: number; idleMs: number };

export type WindowedAggregation<E, A> = WindowSpec & {
  time(event: E): number;
  /** Where the event entered; null for a record that only carries time (a watermark). */
  source(event: E): Source | null;
  /** The group the event counts for (a user, a content id); null when it only moves time on. */
  group(event: E): string | null;
  add(aggregate: A | undefined, event: E): A;
  /**
   * Records that carry a window's results: all groups when it closes, or
   * `changed` alone after a late event changed a closed window.
   */
  results(
    window: { start: number; end: number },
    groups: Readonly<Record<string, A>>,
    changed: string | undefined,
    lane: number,
  ): OutRecord[];
  /** Set for a repartitioned input: the upstream partition and watermark each record carries. */
  watermarks?: Watermarks & { of(event: E): { partition: number; watermark: number } };
};

export const emptyWindows = <A>(): WindowState<A> => ({ streamTime: null, windows: {}, sources: {}, late: 0 });

type WindowFolded<A> = Folded<WindowState<A>> & { replay: boolean };

/** The least watermark of the upstream partitions that are not idle; -Infinity while one not idle was never heard of. */
function leastWatermark(state: WindowState<unknown>, { upstreamPartitions, idleMs }: Watermarks): number {
  const heard = Object.values(state.upstream ?? {});
  const latestWrite = Math.max(state.firstWrite ?? -Infinity, ...heard.map((u) => u.writtenAt));
  let least = Infinity;
  for (let p = 0; p < upstreamPartitions; p++) {
    const u = state.upstream?.[p];
    const idle = latestWrite - (u?.writtenAt ?? state.firstWrite ?? latestWrite) > idleMs;
    if (idle) continue;
    if (!u) return -Infinity;
    least = Math.min(least, u.watermark);
  }
  return least === Infinity ? -Infinity : least;
}

/** Send the results of every window the stream time reached the end of, and forget those past their grace. */
function closeWindows<E, A>(
  state: WindowState<A>,
  streamTime: number,
  aggregation: WindowedAggregation<E, A>,
  lane: number,
  emit: OutRecord[],
): boolean {
  const { sizeMs, graceMs } = aggregation;
  let changed = false;
  for (const [key, window] of Object.entries(state.windows)) {
    const start = Number(key);
    const end = start + sizeMs;
    if (!window.closed && end <= streamTime) {
      window.closed = true;
      changed = true;
      emit.push(...aggregation.results({ start, end }, window.groups, undefined, lane));
    }
    if (end + graceMs <= streamTime) {
      delete state.windows[key];
      changed = true;
    }
  }
  return changed;
}

/**
 * Time passing on a quiet partition (no record for IDLE_TIMEOUT_MS): its
 * stream time follows the wall clock `now`, as Flink's idleness lets a
 * watermark move, so the latest window closes without further traffic. The
 * same state comes back when no window closes or expires and the stream
 * time stays in its window (nothing to write). A partition that never had a
 * record starts its stream time here, so the stages behind it hear of it.
 * A record arriving later for a window closed this way still counts within
 * the grace period, and is late after it, as on any stream.
 */
export function windowedIdle<E, A>(aggregation: WindowedAggregation<E, A>) {
  const { sizeMs } = aggregation;
  return (state: WindowState<A> | undefined, now: number, lane: number): Folded<WindowState<A>> => {
    if (state?.streamTime != null && now <= state.streamTime) return { state };
    const current = state ?? emptyWindows<A>();
    const next: WindowState<A> = { ...current, windows: { ...current.windows } };
    for (const [key, window] of Object.entries(next.windows)) next.windows[key] = { ...window };
    const emit: OutRecord[] = [];
    const closed = closeWindows(next, now, aggregation, lane, emit);
    // The stream time is written when it enters a later window too (once per window while quiet), so the next stage hears of it.
    const before = current.streamTime;
    const entered = before === null || windowStart(now, sizeMs) > windowStart(before, sizeMs);
    if (!closed && !entered) return { state: current };
    next.streamTime = now;
    return { state: next, emit };
  };
}

/**
 * The fold of one event. A partition's windows are one state, so the window
 * an event touches is updated in place (copying every group per event would
 * be quadratic); a new top-level object tells the runner the state changed.
 * `writtenAt`: when the event's record was written (Infinity: unknown).
 */
export function windowedFold<E, A>(aggregation: WindowedAggregation<E, A>) {
  const { sizeMs, graceMs } = aggregation;
  return (state: WindowState<A> | undefined, event: E, lane: number, writtenAt = Infinity): WindowFolded<A> => {
    const current = state ?? emptyWindows<A>();
    const source = aggregation.source(event);
    const sources = source
      ? applyOnce(current.sources, String(source.source_partition), source.source_offset)
      : current.sources;
    if (!sources) return { state: state ?? null, replay: true };

    const next: WindowState<A> = { ...current, sources };
    const emit: OutRecord[] = [];
    let late: string | undefined;
    const time = aggregation.time(event);
    const before = current.streamTime ?? -Infinity;
    const start = windowStart(time, sizeMs);
    const group = aggregation.group(event);
    if (group !== null) {
      if (start + sizeMs + graceMs <= before) {
        next.late++;
        late = `late: the window ${new Date(start).toISOString()} closed for good at ${new Date(start + sizeMs + graceMs).toISOString()} (end + ${graceMs} ms of grace); the stream time is ${new Date(before).toISOString()}`;
      } else {
        const window = (next.windows[start] ??= { closed: false, groups: {} });
        window.groups[group] = aggregation.add(window.groups[group], event);
        if (window.closed)
          emit.push(...aggregation.results({ start, end: start + sizeMs }, window.groups, group, lane));
      }
    }
    let streamTime: number;
    if (aggregation.watermarks) {
      const { partition, watermark } = aggregation.watermarks.of(event);
      const known = current.upstream?.[partition];
      const written = Number.isFinite(writtenAt) ? writtenAt : (known?.writtenAt ?? 0);
      next.upstream = {
        ...current.upstream,
        [partition]: {
          watermark: Math.max(known?.watermark ?? -Infinity, Math.min(watermark, writtenAt)),
          writtenAt: Math.max(known?.writtenAt ?? 0, written),
        },
      };
      next.firstWrite ??= written;
      streamTime = Math.max(before, leastWatermark(next as WindowState<unknown>, aggregation.watermarks));
    } else {
      streamTime = advanceStreamTime(before, time, writtenAt);
    }
    next.streamTime = streamTime === -Infinity ? current.streamTime : streamTime;
    closeWindows(next, streamTime, aggregation, lane, emit);
    return { state: next, emit, replay: false, ...(late && { late }) };
  };
}
