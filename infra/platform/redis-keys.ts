import type Redis from "ioredis";

/**
 * The Redis key layout. A document is `<namespace>:<key>`, where the key is
 * made of ids by `keyOf`: each id percent-encoded, so no id can reach another
 * id's document (`a:b` + `c` vs `a` + `b:c`) or another namespace. A
 * worker's bookkeeping (applied offsets, stream times) lives under
 * `offsets:<worker>`, its published status under `status:<worker>`, the
 * answer a lookup sends for a document under `response:<namespace>:<key>`
 * and rate limits under `ratelimit:`, namespaces no
 * document uses, so no id the API is given can name them.
 */

/** The key of a document about these ids (ids are admitted strings: no lone surrogate, which encoding would refuse). */
export const keyOf = (...ids: readonly string[]) => ids.map(encodeURIComponent).join(":");

export const documentKey = (namespace: string, key: string) => `${namespace}:${key}`;

/** Where a view's ready-to-send answer for a document lives (infra/platform/stored-response.ts). */
export const responseKey = (namespace: string, key: string) => `response:${namespace}:${key}`;

export const offsetsKey = (worker: string) => `offsets:${worker}`;

export const rateLimitKey = (apiKeyId: string) => `ratelimit:${apiKeyId}`;

export const workerStatusKey = (worker: string) => `status:${worker}`;
export const WORKER_STATUS_PATTERN = "status:*";

/** Every key matching a pattern (SCAN, so Redis is never blocked). */
export async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== "0");
  return keys;
}
