import { createMiddleware } from "hono/factory";
import { problem } from "./errors.ts";
import type { Resolved } from "./keys.ts";
import { grants, type Scope } from "./scopes.ts";

export type AuthEnv = { Variables: { partnerId: string; scopes: readonly string[]; keyId: string } };

/** `Authorization: Bearer <key>`; the key's partner is then `c.var.partnerId`, its scopes `c.var.scopes`. */
export function apiKeyAuth(resolve: (key: string) => Promise<Resolved>) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = header.match(/^Bearer\s+(\S+)$/i);
    if (!match) return problem(c, 401, "unauthorized", "missing API key: send Authorization: Bearer <key>");
    const resolved = await resolve(match[1]!);
    if (resolved === "busy") {
      c.header("Retry-After", "1");
      return problem(c, 503, "busy", "too many unknown API keys are being checked; retry later");
    }
    if (resolved === "unknown") return problem(c, 401, "unauthorized", "unknown or revoked API key");
    c.set("partnerId", resolved.partnerId);
    c.set("scopes", resolved.scopes);
    c.set("keyId", resolved.keyId);
    await next();
  });
}

/** 403 unless the key carries `scope` (or `admin`). */
export const requireScope = (scope: Scope) =>
  createMiddleware<AuthEnv>(async (c, next) => {
    if (!grants(c.var.scopes, scope)) return problem(c, 403, "forbidden", `this API key lacks the ${scope} scope`);
    await next();
  });
