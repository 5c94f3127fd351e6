import type { Client } from "@opensearch-project/opensearch";
import * as v from "valibot";
import { integerParam } from "./params.ts";

/** How deep `from + size` may reach: the search engine's index.max_result_window (10,000 by default). */
export const MAX_RESULT_WINDOW = 10_000;

/**
 * A search endpoint's query: its own parameters plus `page` and `size`;
 * nothing else exists (a 400), and a page past the search engine's result
 * window is a 400 naming `page` rather than the engine's error.
 */
export const searchQuery = <E extends v.ObjectEntries>(entries: E) =>
  v.pipe(
    v.strictObject(
      { ...entries, page: integerParam(1, MAX_RESULT_WINDOW, 1), size: integerParam(1, 100, 20) },
      "unknown query parameter",
    ),
    v.rawCheck(({ dataset, addIssue }) => {
      const { page, size } = dataset.value as { page: number; size: number };
      if (dataset.typed && page * size > MAX_RESULT_WINDOW) {
        addIssue({
          message: `page × size must be at most ${MAX_RESULT_WINDOW} (the deepest result search reaches); narrow the filters`,
          path: [
            {
              type: "object",
              origin: "value",
              input: dataset.value as Record<string, unknown>,
              key: "page",
              value: page,
            },
          ],
        });
      }
    }),
  );

export type SearchPage = { total: number; page: number; size: number; results: unknown[] };

/**
 * Run one page of a query (sort included in `body`) and answer it in the
 * API's shape. `caller` (an API key id) routes a caller's searches to the
 * same shard copies: each copy refreshes on its own, and pages read from a
 * primary and then a replica that is a moment behind would skip or repeat.
 */
export async function searchPage(
  client: Client,
  index: string,
  body: object,
  { page, size, caller }: { page: number; size: number; caller: string },
): Promise<SearchPage> {
  const { body: found } = await client.search({
    index,
    ignore_unavailable: true,
    preference: caller,
    body: { ...body, from: (page - 1) * size, size, track_total_hits: true } as never,
  });
  const total = typeof found.hits.total === "number" ? found.hits.total : (found.hits.total?.value ?? 0);
  return { total, page, size, results: found.hits.hits.map((hit) => hit._source) };
}
