import type { MiddlewareHandler } from "hono";
import { etagOf } from "../../infra/platform/stored-response.ts";

/**
 * Conditional GETs for lookups: every 200 answers an `ETag` (one a route
 * set from a stored answer, or a hash of the body) and the configured
 * `Cache-Control`, varying by `Authorization` (an answer belongs to the key's
 * partner); a request whose `If-None-Match` names the current ETag gets a 304
 * with no body.
 */
export function lookupCaching(cacheControl: string): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if ((c.req.method !== "GET" && c.req.method !== "HEAD") || c.res.status !== 200) return;
    const etag = c.res.headers.get("ETag") ?? etagOf(await c.res.clone().text());
    const headers = { ETag: etag, "Cache-Control": cacheControl, Vary: "Authorization" };
    const wanted = c.req.header("If-None-Match");
    if (
      wanted !== undefined &&
      (wanted.trim() === "*" || (wanted.match(/"[^"]*"/g) ?? ([] as string[])).includes(etag))
    ) {
      c.res = new Response(null, { status: 304, headers });
      return;
    }
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
