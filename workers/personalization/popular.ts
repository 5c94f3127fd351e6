import type { ContentOpened, OpensWatermark, PopularInPartition } from "../../infra/platform/contracts/content.ts";
import { byOpens, type Ranked } from "./view.ts";
import { type Watermarks, type WindowSpec, windowedFold } from "./windows.ts";

/** What `content.opens` carries: opens, and upstream partitions' watermarks alone. */
export type OpensRecord = { kind: "open"; open: ContentOpened } | { kind: "watermark"; mark: OpensWatermark };

/** The top `n` of counts by content id. */
export const topN = (counts: Readonly<Record<string, number>>, n: number): Ranked[] =>
  Object.entries(counts)
    .map(([content_id, opens]) => ({ content_id, opens }))
    .sort(byOpens)
    .slice(0, n);

/**
 * Opens per content id per tumbling window, over one partition of
 * `content.opens` (keyed by content_id, so each id is counted in one
 * partition only). Its stream time is the least watermark of the upstream
 * (user-activity) partitions, so a backlog that brings one upstream
 * partition's hour before another's counts the same as live traffic. When
 * a window closes, and again when a late open within the grace changes it,
 * the partition's top N for that window goes to `content.popular`, keyed by
 * the window start.
 */
export function popularContentFold(
  spec: WindowSpec,
  { topic, topN: n, watermarks }: { topic: string; topN: number; watermarks: Watermarks },
) {
  return windowedFold<OpensRecord, number>({
    ...spec,
    time: (record) => Date.parse(record.kind === "open" ? record.open.occurred_at : record.mark.watermark),
    source: (record) => (record.kind === "open" ? record.open : null),
    group: (record) => (record.kind === "open" ? record.open.content_id : null),
    add: (opens = 0) => opens + 1,
    results: ({ start, end }, counts, _changed, lane) => {
      const value: PopularInPartition = {
        window_start: new Date(start).toISOString(),
        window_end: new Date(end).toISOString(),
        partition: lane,
        top: topN(counts, n),
      };
      return [{ topic, key: value.window_start, value }];
    },
    watermarks: {
      ...watermarks,
      of: (record) => {
        const { upstream_partition, watermark } = record.kind === "open" ? record.open : record.mark;
        return { partition: upstream_partition, watermark: Date.parse(watermark) };
      },
    },
  });
}
