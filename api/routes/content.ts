import { Hono } from "hono";
import * as v from "valibot";
import { QueryTime } from "../../infra/platform/contracts/fields.ts";
import type { RedisClient } from "../../infra/platform/redis-keys.ts";
import {
  type ActivityView,
  activityDocumentKey,
  mergeTop,
  type PopularView,
  popularDocumentKey,
} from "../../workers/personalization/view.ts";
import { type AuthEnv, requireScope } from "../http/auth.ts";
import { problem } from "../http/errors.ts";
import { integerParam, validIds, validQuery } from "../http/params.ts";

/** A window length as people write it: 300000 ms is "5m", 2000 ms is "2s". */
export function windowName(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The query of GET /v1/content/popular: the window the pipeline counts in, a window's start, how many. */
export function popularQuery(windowMs: number, topN: number) {
  const size = windowName(windowMs);
  return v.strictObject(
    {
      window: v.optional(
        v.literal(size, `must be ${size}, the window the pipeline counts in (CONTENT_WINDOW_MS)`),
        size,
      ),
      /** A window's start; without it, the latest closed window. */
      start: v.optional(QueryTime),
      limit: integerParam(1, topN, topN),
    },
    "unknown query parameter",
  );
}

export type ContentRouteOptions = {
  redis: RedisClient;
  windowMs: number;
  topN: number;
  /** content.user-activity's partitions: where a user's activity lives. */
  partitions: number;
  viewName?: string;
};

/**
 * Window results of the personalization pipeline (SPEC §2.5), as the
 * `content-views` worker keeps them: the last closed windows' popular
 * content, and a user's opens per window.
 */
export function contentRoutes({ redis, windowMs, topN, partitions, viewName }: ContentRouteOptions): Hono<AuthEnv> {
  const size = windowName(windowMs);
  const PopularQuery = popularQuery(windowMs, topN);
  const read = async <T>(key: string) => {
    const raw = await redis.get(key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  };

  return new Hono<AuthEnv>()
    .get("/v1/content/popular", requireScope("content:read"), validQuery(PopularQuery), async (c) => {
      const { start, limit } = c.req.valid("query");
      const windows = (await read<PopularView>(popularDocumentKey(viewName)))?.windows ?? [];
      const wanted =
        start === undefined ? windows[0] : windows.find((w) => Date.parse(w.window_start) === Date.parse(start));
      if (!wanted)
        return problem(
          c,
          404,
          "not_found",
          start === undefined
            ? "no window has closed yet"
            : `no results for the window starting ${start} (the last ${windows.length} windows are kept)`,
        );
      return c.json({
        window: size,
        window_start: wanted.window_start,
        window_end: wanted.window_end,
        top: mergeTop(wanted, limit),
      });
    })
    .get("/v1/users/:userId/activity", requireScope("content:read"), validIds("userId"), async (c) => {
      const { userId } = c.req.valid("param");
      const view = await read<ActivityView>(activityDocumentKey(userId, { partitions }, viewName));
      if (!view) return problem(c, 404, "not_found", "no closed window with activity of this user");
      return c.json({ user_id: view.user_id, window: size, windows: view.windows });
    });
}
