import type { Client } from "@opensearch-project/opensearch";
import * as v from "valibot";

const pageNumber = (max: number, fallback: string) =>
  v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, "expected an integer"), v.transform(Number), v.minValue(1, "must be at least 1"), v.maxValue(max, `must be at most ${max}`)),
    fallback,
  );

/** The paging parameters every search endpoint takes. */
export const PAGING = { page: pageNumber(500, "1"), size: pageNumber(100, "20") };

export type SearchPage = { total: number; page: number; size: number; results: unknown[] };

/** Run one page of a query (sort included in `body`) and answer it in the API's shape. */
export async function searchPage(client: Client, index: string, body: object, page: number, size: number): Promise<SearchPage> {
  const { body: found } = await client.search({
    index,
    ignore_unavailable: true,
    body: { ...body, from: (page - 1) * size, size, track_total_hits: true } as never,
  });
  const total = typeof found.hits.total === "number" ? found.hits.total : (found.hits.total?.value ?? 0);
  return { total, page, size, results: found.hits.hits.map((hit) => hit._source) };
}
