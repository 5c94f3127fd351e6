import { createMiddleware } from "hono/factory";
import type Redis from "ioredis";
import { logger } from "../../infra/platform/log.ts";
import { rateLimitKey } from "../../infra/platform/redis-keys.ts";
import type { AuthEnv } from "./auth.ts";
import { problem } from "./errors.ts";

/**
 * A token bucket per API key, in Redis so every API process shares it:
 * `perSecond` tokens a second, at most `burst` saved up. Returns 0 when a
 * token was taken, else the ms until one will be there. Redis' own clock, so
 * processes with different clocks agree.
 */
const TAKE_TOKEN = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or burst
local at = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
`;

type WithBucket = Redis & {
  cdpTakeToken(numKeys: number, key: string, perSecond: number, burst: number): Promise<number>;
};

/**
 * 429 with Retry-After once a key spends its tokens (SPEC §3.5). A Redis
 * that does not answer lets requests through (logged): a limiter must not
 * take the API down with it.
 */
export function rateLimit(redis: Redis, { perSecond, burst }: { perSecond: number; burst: number }) {
  const log = logger("rate-limit");
  const client = redis as WithBucket;
  if (perSecond > 0 && typeof client.cdpTakeToken !== "function")
    client.defineCommand("cdpTakeToken", { lua: TAKE_TOKEN });
  let lastWarned = 0;
  return createMiddleware<AuthEnv>(async (c, next) => {
    if (perSecond === 0) return next();
    let waitMs = 0;
    try {
      waitMs = await client.cdpTakeToken(1, rateLimitKey(c.var.keyId), perSecond, burst);
    } catch (error) {
      if (Date.now() - lastWarned > 10_000) {
        lastWarned = Date.now();
        log.warn("rate limits not checked: Redis did not answer", { error: String(error) });
      }
    }
    if (waitMs > 0) {
      c.header("Retry-After", String(Math.ceil(waitMs / 1000)));
      return problem(
        c,
        429,
        "rate_limited",
        `this API key makes more than RATE_LIMIT_PER_SECOND=${perSecond} requests a second; retry later`,
      );
    }
    return next();
  });
}
