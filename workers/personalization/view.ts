/**
 * The personalization read models (SPEC §2.5): the documents the
 * `content-views` worker keeps and the API serves, and their keys.
 */
import type { UserActivity } from "../../infra/platform/contracts/content.ts";
import { type Partitions, partitionOf } from "../../infra/platform/kafka/partitioner.ts";
import { documentKey, keyOf } from "../../infra/platform/redis-keys.ts";

/** Windows kept per view: an hour of 5-minute windows. */
export const VIEW_WINDOWS = 12;

export type ActivityView = { user_id: string; windows: Omit<UserActivity, "user_id">[] };
export type PopularWindow = { window_start: string; window_end: string; partitions: Record<string, Ranked[]> };
export type PopularView = { windows: PopularWindow[] };
export type ContentView = ActivityView | PopularView;

export type Ranked = { content_id: string; opens: number };

/** Most opens first; the smaller id breaks a tie, so the ranking never depends on arrival order. */
export const byOpens = (a: Ranked, b: Ranked) =>
  b.opens - a.opens || (a.content_id < b.content_id ? -1 : a.content_id > b.content_id ? 1 : 0);

/** The namespace of the views the API reads (the `content-views` worker's name; tests name their own). */
export const CONTENT_VIEWS = "content-views";
/** A user's activity is `activity:<user>`; the one popular-content document is `popular`. */
export const activityViewKey = (userId: string) => `activity:${keyOf(userId)}`;
export const POPULAR_VIEW_KEY = "popular";
/** Where a user's activity lives in Redis: under the partition of content.user-activity (`partitions` of them) that holds it. */
export const activityDocumentKey = (userId: string, { partitions }: Partitions, namespace = CONTENT_VIEWS) =>
  documentKey(namespace, activityViewKey(userId), partitionOf(userId, partitions));
/** Where popular content lives: content.popular has one partition. */
export const popularDocumentKey = (namespace = CONTENT_VIEWS) => documentKey(namespace, POPULAR_VIEW_KEY, 0);

/** A window's top `n` across partitions: each content id is counted in one partition only, so their lists merge. */
export const mergeTop = (window: PopularWindow, n: number): Ranked[] =>
  Object.values(window.partitions).flat().sort(byOpens).slice(0, n);
