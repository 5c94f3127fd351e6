import { and, eq, isNull, like } from "drizzle-orm";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { apiKeys } from "../db/schema.ts";

export type Db = PostgresJsDatabase;

const sha256 = (key: string) => new Bun.CryptoHasher("sha256").update(key).digest("hex");

/** A new key for a partner; the key itself is returned once and never stored. */
export async function createApiKey(db: Db, partnerId: string): Promise<{ key: string; prefix: string }> {
  const key = `cdp_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
  const prefix = key.slice(0, 12);
  await db.insert(apiKeys).values({ partnerId, prefix, keyHash: sha256(key) });
  return { key, prefix };
}

export async function listApiKeys(db: Db) {
  return db.select({ prefix: apiKeys.prefix, partnerId: apiKeys.partnerId, createdAt: apiKeys.createdAt, revokedAt: apiKeys.revokedAt }).from(apiKeys).orderBy(apiKeys.id);
}

export async function revokeApiKey(db: Db, prefix: string): Promise<number> {
  const revoked = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(like(apiKeys.prefix, `${prefix}%`), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return revoked.length;
}

/**
 * Key -> partner, with a short in-process cache so a lookup-heavy read path
 * does not hit Postgres per request. A revoked key stops working within
 * `ttlMs`.
 */
export function apiKeyResolver(db: Db, { ttlMs = 30_000, maxEntries = 10_000 } = {}) {
  const cache = new Map<string, { partnerId: string | undefined; expires: number }>();
  return async (key: string): Promise<string | undefined> => {
    const hash = sha256(key);
    const hit = cache.get(hash);
    if (hit && hit.expires > Date.now()) return hit.partnerId;
    const [row] = await db
      .select({ partnerId: apiKeys.partnerId })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)));
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(hash, { partnerId: row?.partnerId, expires: Date.now() + ttlMs });
    return row?.partnerId;
  };
}
