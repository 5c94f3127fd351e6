import { createMiddleware } from "hono/factory";
import { problem } from "./errors.ts";

export type AuthEnv = { Variables: { partnerId: string } };

/** `Authorization: Bearer <key>`; the key's partner is then `c.var.partnerId`. */
export function apiKeyAuth(resolve: (key: string) => Promise<string | undefined>) {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = header.match(/^Bearer\s+(\S+)$/i);
    if (!match) return problem(c, 401, "unauthorized", "missing API key: send Authorization: Bearer <key>");
    const partnerId = await resolve(match[1]!);
    if (partnerId === undefined) return problem(c, 401, "unauthorized", "unknown or revoked API key");
    c.set("partnerId", partnerId);
    await next();
  });
}
