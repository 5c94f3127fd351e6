import type { PopularInPartition, UserActivity } from "../../infra/platform/contracts/content.ts";
import type { Folded } from "../runtime/worker.ts";
import {
  type ActivityView,
  activityViewKey,
  type ContentView,
  POPULAR_VIEW_KEY,
  type PopularView,
  type PopularWindow,
  VIEW_WINDOWS,
} from "./view.ts";

export type ViewEvent = { kind: "activity"; activity: UserActivity } | { kind: "popular"; popular: PopularInPartition };

export const viewKey = (event: ViewEvent) =>
  event.kind === "activity" ? activityViewKey(event.activity.user_id) : POPULAR_VIEW_KEY;

/** Newest first, at most VIEW_WINDOWS, one entry per window start: the last result sent for a window replaces the one before. */
function upsertWindow<W extends { window_start: string }>(windows: readonly W[], window: W): W[] {
  return [window, ...windows.filter((w) => w.window_start !== window.window_start)]
    .sort((a, b) => (a.window_start < b.window_start ? 1 : -1))
    .slice(0, VIEW_WINDOWS);
}

/**
 * Window results as the API reads them: per user, the last windows' opens;
 * for popular content, the last windows' top N of each partition (merged
 * when read). Results are whole values, so a result seen twice changes
 * nothing.
 */
export function contentViewFold(state: ContentView | undefined, event: ViewEvent): Folded<ContentView> {
  if (event.kind === "activity") {
    const { user_id, ...window } = event.activity;
    const windows = (state as ActivityView | undefined)?.windows ?? [];
    return { state: { user_id, windows: upsertWindow(windows, window) } };
  }
  const { window_start, window_end, partition, top } = event.popular;
  const windows = (state as PopularView | undefined)?.windows ?? [];
  const existing = windows.find((w) => w.window_start === window_start);
  const window: PopularWindow = { window_start, window_end, partitions: { ...existing?.partitions, [partition]: top } };
  return { state: { windows: upsertWindow(windows, window) } };
}
