import { createMiddleware } from "hono/factory";
import { logger } from "../../infra/platform/log.ts";
import { type RedisClient, rateLimitKey } from "../../infra/platform/redis-keys.ts";
import type { AuthEnv } from "./auth.ts";
import { problem } from "./errors.ts";

/**
 * A token bucket per API key, in Redis so every API process shares it:
 * `perSecond` tokens a second, at most `burst` saved up. Takes up to
 * ARGV[3] tokens at once and returns {taken, ms until one will be there}.
 * Redis' own clock, so processes with different clocks agree.
 */
const TAKE_TOKENS = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or burst
local at = tonumber(saved[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local taken = math.min(want, math.floor(tokens))
local wait = 0
if taken >= 1 then tokens = tokens - taken else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {taken, wait}
`;

type WithBucket = RedisClient & {
  cdpTakeTokens(key: string, perSecond: number, burst: number, want: number): Promise<[number, number]>;
};

/**
 * 429 with Retry-After once a key spends its tokens (SPEC §3.5). Each
 * process takes tokens from the shared bucket in leases of up to 50 ms'
 * worth (one at a time for slow limits) and spends them locally, so most
 * requests cost no Redis round trip; a key can overspend by at most a lease
 * per process, and a lease is never lost while the process runs. A Redis
 * that does not answer lets requests through (logged): a limiter must not
 * take the API down with it.
 */
export function rateLimit(redis: RedisClient, { perSecond, burst }: { perSecond: number; burst: number }) {
  const log = logger("rate-limit");
  const client = redis as WithBucket;
  if (perSecond > 0 && typeof client.cdpTakeTokens !== "function")
    // One key, declared: autopipelining then routes it by that key (on a Cluster, its slot).
    client.defineCommand("cdpTakeTokens", { lua: TAKE_TOKENS, numberOfKeys: 1 });
  const lease = Math.max(1, Math.min(burst, Math.floor(perSecond / 20)));
  /** Tokens this process holds per key, and the lease being taken for a key. */
  const held = new Map<string, number>();
  const leasing = new Map<string, Promise<number>>();
  let lastWarned = 0;

  /** Take a lease for a key: how long to wait when none was given (0: tokens were, or Redis did not answer). */
  const takeLease = (keyId: string): Promise<number> => {
    let taking = leasing.get(keyId);
    if (!taking) {
      taking = client
        .cdpTakeTokens(rateLimitKey(keyId), perSecond, burst, lease)
        .then(([taken, wait]) => {
          held.set(keyId, (held.get(keyId) ?? 0) + taken);
          return wait;
        })
        .catch((error) => {
          if (Date.now() - lastWarned > 10_000) {
            lastWarned = Date.now();
            log.warn("rate limits not checked: Redis did not answer", { error: String(error) });
          }
          held.set(keyId, (held.get(keyId) ?? 0) + 1);
          return 0;
        })
        .finally(() => leasing.delete(keyId));
      leasing.set(keyId, taking);
    }
    return taking;
  };

  return createMiddleware<AuthEnv>(async (c, next) => {
    if (perSecond === 0) return next();
    const keyId = c.var.keyId;
    for (;;) {
      const tokens = held.get(keyId) ?? 0;
      if (tokens >= 1) {
        held.set(keyId, tokens - 1);
        return next();
      }
      const waitMs = await takeLease(keyId);
      if (waitMs > 0 && (held.get(keyId) ?? 0) < 1) {
        c.header("Retry-After", String(Math.ceil(waitMs / 1000)));
        return problem(
          c,
          429,
          "rate_limited",
          `this API key makes more than RATE_LIMIT_PER_SECOND=${perSecond} requests a second; retry later`,
        );
      }
    }
  });
}
