import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/bun";
import { problem } from "../http/errors.ts";
import type { Resolved } from "../http/keys.ts";

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

function fromLoopback(c: Parameters<MiddlewareHandler>[0]): boolean {
  try {
    return LOOPBACK.has(getConnInfo(c).remote.address ?? "");
  } catch {
    // No connection to ask (a request made in-process): not known to be local.
    return false;
  }
}

/**
 * The console reads every partner's records and moves consumer groups: open
 * to a browser on this machine, and otherwise only with a key that has the
 * `admin` scope.
 */
export const consoleAccess =
  (resolveApiKey: (key: string) => Promise<Resolved>): MiddlewareHandler =>
  async (c, next) => {
    const header = c.req.header("authorization");
    if (!header && fromLoopback(c)) return next();
    const key = header?.match(/^Bearer (\S+)$/)?.[1];
    const grant = key ? await resolveApiKey(key) : "unknown";
    if (grant === "busy") return problem(c, 503, "unavailable", "too many key lookups at once; retry");
    if (grant === "unknown")
      return problem(
        c,
        401,
        "unauthorized",
        "the console is open on loopback; elsewhere it needs an API key with the admin scope",
      );
    if (!grant.scopes.includes("admin")) return problem(c, 403, "forbidden", "the console needs the admin scope");
    return next();
  };
