import { and, eq, inArray, isNull } from "drizzle-orm";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { apiKeys } from "../../db/schema.ts";
import { DEFAULT_SCOPES, type Scope } from "./scopes.ts";

export type Db = PostgresJsDatabase;

/** What a valid key stands for. `keyId` names it in rate limits and logs. */
export type ApiKeyGrant = { keyId: string; partnerId: string; scopes: readonly string[] };

/** Keys as `createApiKey` makes them: anything else is refused without a lookup. */
const KEY_FORMAT = /^cdp_[A-Za-z0-9_-]{43}$/;

const sha256 = (key: string) => new Bun.CryptoHasher("sha256").update(key).digest("hex");

/** A new key for a partner; the key itself is returned once and never stored. */
export async function createApiKey(
  db: Db,
  partnerId: string,
  scopes: readonly Scope[] = DEFAULT_SCOPES,
): Promise<{ key: string; prefix: string }> {
  const key = `cdp_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
  const prefix = key.slice(0, 12);
  await db.insert(apiKeys).values({ partnerId, prefix, keyHash: sha256(key), scopes: [...scopes] });
  return { key, prefix };
}

export async function listApiKeys(db: Db) {
  return db
    .select({
      prefix: apiKeys.prefix,
      partnerId: apiKeys.partnerId,
      scopes: apiKeys.scopes,
      createdAt: apiKeys.createdAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .orderBy(apiKeys.id);
}

/** Revoke the keys whose prefix is exactly this one (a prefix, never a pattern). */
export async function revokeApiKey(db: Db, prefix: string): Promise<number> {
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return revoked.length;
}

/** The resolver's answer: a grant, unknown (or revoked), or too many unknown keys waiting to be looked up. */
export type Resolved = ApiKeyGrant | "unknown" | "busy";

export type ResolverOptions = {
  /** How long an answer (a grant or "unknown") is kept: a revoked key stops working within it. */
  ttlMs?: number;
  maxEntries?: number;
  /** Keys not in the cache are looked up together, at most once per this many ms. */
  lookupEveryMs?: number;
  /** Keys waiting for the next lookup at most; past it an unknown key is answered "busy". */
  maxWaiting?: number;
};

/**
 * Key -> grant, cached, so a lookup-heavy read path does not hit Postgres per
 * request and guessing keys cannot load it: a malformed key is refused
 * without a lookup, answers (unknown ones too) are cached for `ttlMs`, and
 * keys not in the cache are looked up in one query at most every
 * `lookupEveryMs`, however many arrive meanwhile. A key used in the last
 * tenth of its cache time is looked up again in the background, so a key
 * in use never makes its requests wait (its requests had stalled ~100 ms
 * every `ttlMs`); a key asked for while its lookup runs waits for that one.
 */
export function apiKeyResolver(
  db: Db,
  { ttlMs = 30_000, maxEntries = 100_000, lookupEveryMs = 100, maxWaiting = 10_000 }: ResolverOptions = {},
) {
  const cache = new Map<string, { grant: ApiKeyGrant | undefined; expires: number }>();
  const waiting = new Map<string, PromiseWithResolvers<ApiKeyGrant | undefined>>();
  /** The keys of the query running now. */
  const inFlight = new Map<string, PromiseWithResolvers<ApiKeyGrant | undefined>>();
  const refreshAheadMs = ttlMs / 10;
  let lastLookup = 0;
  // biome-ignore lint/correctness/noUnusedVariables: read by `??=` in schedule(), so one lookup is pending at a time
  let scheduled: Timer | undefined;

  const remember = (hash: string, grant: ApiKeyGrant | undefined) => {
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(hash, { grant, expires: Date.now() + ttlMs });
  };

  async function lookUp() {
    scheduled = undefined;
    lastLookup = Date.now();
    const batch = [...waiting].slice(0, 1000);
    for (const [hash, answer] of batch) {
      waiting.delete(hash);
      inFlight.set(hash, answer);
    }
    try {
      const rows = await db
        .select({ id: apiKeys.id, hash: apiKeys.keyHash, partnerId: apiKeys.partnerId, scopes: apiKeys.scopes })
        .from(apiKeys)
        .where(
          and(
            inArray(
              apiKeys.keyHash,
              batch.map(([hash]) => hash),
            ),
            isNull(apiKeys.revokedAt),
          ),
        );
      const found = new Map(
        rows.map((r) => [r.hash, { keyId: String(r.id), partnerId: r.partnerId, scopes: r.scopes }]),
      );
      for (const [hash, answer] of batch) {
        remember(hash, found.get(hash));
        answer.resolve(found.get(hash));
      }
    } catch (error) {
      for (const [, answer] of batch) answer.reject(error);
    }
    for (const [hash] of batch) inFlight.delete(hash);
    if (waiting.size > 0) schedule();
  }

  function schedule() {
    scheduled ??= setTimeout(() => void lookUp(), Math.max(0, lastLookup + lookupEveryMs - Date.now()));
  }

  /** The answer a key will get from a lookup: the running one's, or the next one's (undefined: too many keys wait). */
  function lookupOf(hash: string) {
    const pending = inFlight.get(hash) ?? waiting.get(hash);
    if (pending) return pending;
    if (waiting.size >= maxWaiting) return undefined;
    const answer = Promise.withResolvers<ApiKeyGrant | undefined>();
    // A refresh ahead has no one waiting for it: its failure is no one's unhandled rejection.
    answer.promise.catch(() => {});
    waiting.set(hash, answer);
    schedule();
    return answer;
  }

  return async (key: string): Promise<Resolved> => {
    if (!KEY_FORMAT.test(key)) return "unknown";
    const hash = sha256(key);
    const hit = cache.get(hash);
    const now = Date.now();
    if (hit && hit.expires > now) {
      if (hit.expires - now < refreshAheadMs) lookupOf(hash);
      return hit.grant ?? "unknown";
    }
    const answer = lookupOf(hash);
    if (!answer) return "busy";
    return (await answer.promise) ?? "unknown";
  };
}
