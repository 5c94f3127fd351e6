import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { httpRequestDuration } from "../../infra/platform/metrics.ts";

/**
 * Middleware: every request's duration by method, route pattern (never the
 * path: ids would make a series per user) and status.
 */
export const requestMetrics = (): MiddlewareHandler => async (c, next) => {
  const started = performance.now();
  try {
    await next();
  } finally {
    const handler = matchedRoutes(c)
      .filter((r) => r.method !== "ALL")
      .at(-1);
    const route = handler?.path ?? "unmatched";
    httpRequestDuration.observe(
      { method: c.req.method, route, status: String(c.res.status) },
      (performance.now() - started) / 1000,
    );
  }
};
