import type { ContentOpened, PopularInPartition } from "../../infra/contracts/content.ts";
import { windowedFold, type WindowSpec } from "./windows.ts";

export type Ranked = { content_id: string; opens: number };

/** Most opens first; the smaller id breaks a tie, so the ranking never depends on arrival order. */
export const byOpens = (a: Ranked, b: Ranked) => b.opens - a.opens || (a.content_id < b.content_id ? -1 : a.content_id > b.content_id ? 1 : 0);

/** The top `n` of counts by content id. */
export const topN = (counts: Readonly<Record<string, number>>, n: number): Ranked[] =>
  Object.entries(counts)
    .map(([content_id, opens]) => ({ content_id, opens }))
    .sort(byOpens)
    .slice(0, n);

/**
 * Opens per content id per tumbling window, over one partition of
 * `content.opens` (keyed by content_id, so each id is counted in one
 * partition only). When a window closes, and again when a late open within
 * the grace changes it, the partition's top N for that window goes to
 * `content.popular`, keyed by the window start.
 */
export function popularContentFold(spec: WindowSpec, { topic, topN: n }: { topic: string; topN: number }) {
  return windowedFold<ContentOpened, number>({
    ...spec,
    time: (event) => Date.parse(event.occurred_at),
    source: (event) => event,
    group: (event) => event.content_id,
    add: (opens = 0) => opens + 1,
    results: ({ start, end }, counts, _changed, lane) => {
      const value: PopularInPartition = { window_start: new Date(start).toISOString(), window_end: new Date(end).toISOString(), partition: lane, top: topN(counts, n) };
      return [{ topic, key: value.window_start, value }];
    },
  });
}
