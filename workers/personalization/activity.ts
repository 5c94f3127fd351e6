import type {
  ContentOpened,
  EnrichedInteraction,
  OpensWatermark,
  UserActivity,
} from "../../infra/platform/contracts/content.ts";
import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import type { Folded } from "../runtime/worker.ts";
import {
  type WindowedAggregation,
  type WindowSpec,
  type WindowState,
  windowedFold,
  windowedIdle,
  windowStart,
} from "./windows.ts";

/** Distinct content ids kept per user and window; opens are counted past it. */
export const MAX_CONTENT_IDS = 50;

export type UserWindow = { opens: number; content_ids: string[] };
/** Where user-activity writes; `opensPartitions`: how many partitions content.opens has (each gets the watermarks). */
export type ActivityTopics = { userActivity: string; opens: string; opensPartitions: number };

const iso = (ms: number) => new Date(ms).toISOString();

/** What user-activity counts: opens per user, over interactions.enriched. */
function userActivityWindows(
  spec: WindowSpec,
  topics: ActivityTopics,
): WindowedAggregation<EnrichedInteraction, UserWindow> {
  return {
    ...spec,
    time: (event) => Date.parse(event.occurred_at),
    source: (event) => event,
    group: (event) => (event.action === "opened" ? event.user_id : null),
    add: (window, event) => {
      const ids = window?.content_ids ?? [];
      const known = ids.includes(event.content_id) || ids.length >= MAX_CONTENT_IDS;
      return { opens: (window?.opens ?? 0) + 1, content_ids: known ? ids : [...ids, event.content_id] };
    },
    results: ({ start, end }, groups, changed) =>
      (changed === undefined ? Object.keys(groups) : [changed]).map((userId) => {
        const value: UserActivity = {
          user_id: userId,
          window_start: iso(start),
          window_end: iso(end),
          ...groups[userId]!,
        };
        return { topic: topics.userActivity, key: userId, value };
      }),
  };
}

/** When the stream time enters a later window: its watermark to every partition of content.opens. */
function watermarksAfter(before: number | null, after: number, lane: number, spec: WindowSpec, topics: ActivityTopics) {
  if (before !== null && windowStart(after, spec.sizeMs) <= windowStart(before, spec.sizeMs)) return [];
  const mark: OpensWatermark = { upstream_partition: lane, watermark: iso(after) };
  return Array.from(
    { length: topics.opensPartitions },
    (_, partition): OutRecord => ({ topic: topics.opens, key: null, partition, value: mark }),
  );
}

/** A quiet partition's windows close on the wall clock (windowedIdle); the watermark goes on to content.opens. */
export function userActivityIdle(spec: WindowSpec, topics: ActivityTopics) {
  const idle = windowedIdle(userActivityWindows(spec, topics));
  return (state: WindowState<UserWindow> | undefined, now: number, lane: number): Folded<WindowState<UserWindow>> => {
    const folded = idle(state, now, lane);
    if (state !== undefined && folded.state === state) return folded;
    const emit = [...(folded.emit ?? []), ...watermarksAfter(state?.streamTime ?? null, now, lane, spec, topics)];
    return { ...folded, emit };
  };
}

/**
 * Content opened per user per tumbling window, over one partition of
 * `interactions.enriched` (its stream time moves with every interaction,
 * opened or not). Each opened interaction that is not a replay also goes to
 * `content.opens`, keyed by content_id (the repartition the popular-content
 * count needs), with this partition's number and stream time; and when the
 * stream time passes a window's end, that watermark goes to every partition
 * of `content.opens`, so the next stage knows how far this partition has got
 * even where none of its opens went.
 */
export function userActivityFold(spec: WindowSpec, topics: ActivityTopics) {
  const fold = windowedFold(userActivityWindows(spec, topics));
  return (
    state: WindowState<UserWindow> | undefined,
    event: EnrichedInteraction,
    lane: number,
    writtenAt?: number,
  ): Folded<WindowState<UserWindow>> => {
    const folded = fold(state, event, lane, writtenAt);
    if (folded.replay) return folded;
    const before = state?.streamTime ?? null;
    const after = folded.state!.streamTime!;
    const watermark = iso(after);
    const emit: OutRecord[] = [...(folded.emit ?? [])];
    // Every open goes on, late here or not: the next stage judges it by its own watermark.
    if (event.action === "opened") {
      const opened: ContentOpened = {
        content_id: event.content_id,
        user_id: event.user_id,
        occurred_at: event.occurred_at,
        source_partition: event.source_partition,
        source_offset: event.source_offset,
        upstream_partition: lane,
        watermark,
      };
      emit.push({ topic: topics.opens, key: event.content_id, value: opened });
    }
    emit.push(...watermarksAfter(before, after, lane, spec, topics));
    return { ...folded, emit };
  };
}
