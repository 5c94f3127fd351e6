import type { Hono } from "hono";

/** `/v1/users/:userId` -> a regex matching the paths it serves. */
const pattern = (path: string) =>
  new RegExp(
    `^${path
      .split("/")
      .map((part) =>
        part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("/")}/?$`,
  );

/**
 * For a path no route answered with the request's method: the methods its
 * routes do answer (HEAD with GET), so a wrong method gets 405 and `Allow`
 * rather than 404. Read once all routes are mounted.
 */
export function methodsAllowed(app: Hono): (path: string) => string[] {
  let routes: { method: string; match: RegExp }[] | undefined;
  return (path) => {
    routes ??= app.routes.filter((r) => r.method !== "ALL").map((r) => ({ method: r.method, match: pattern(r.path) }));
    const methods = new Set(routes.filter((r) => r.match.test(path)).map((r) => r.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}
