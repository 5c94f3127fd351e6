import { Cluster, type Redis } from "ioredis";

/**
 * The Redis key layout. A document is `<namespace>:{p<N>}:<key>`, where N
 * is the Kafka partition whose records build it and the key is made of ids
 * by `keyOf`: each id percent-encoded, so no id can reach another id's
 * document (`a:b` + `c` vs `a` + `b:c`), another namespace or a hash tag. A
 * worker's bookkeeping for partition N (applied offsets, stream times, sink
 * offsets) lives under `offsets:<worker>:{p<N>}`: `{p<N>}` is a Redis
 * Cluster hash tag, so everything one partition's commit script touches is in
 * one slot (on a single server it is just part of the name). Its store id is
 * `store:<worker>`, its published status `{status}:<worker>` (one slot, read
 * together), the answer a lookup sends for a document
 * `response:<namespace>:{p<N>}:<key>` and rate limits `ratelimit:<key id>`,
 * namespaces no document uses, so no id the API is given can name them.
 */

/** A Redis client: one server, or a Redis Cluster (REDIS_CLUSTER). */
export type RedisClient = Redis | Cluster;

/** The hash tag of one Kafka partition number's keys; `"*"` makes a SCAN pattern of any partition's. */
type Partition = number | "*";
const partitionTag = (partition: Partition) => `{p${partition}}`;

/** The key of a document about these ids (ids are admitted strings: no lone surrogate, which encoding would refuse). */
export const keyOf = (...ids: readonly string[]) => ids.map(encodeURIComponent).join(":");

export const documentKey = (namespace: string, key: string, partition: Partition) =>
  `${namespace}:${partitionTag(partition)}:${key}`;

/** Where a view's ready-to-send answer for a document lives (infra/platform/stored-response.ts). */
export const responseKey = (namespace: string, key: string, partition: Partition) =>
  `response:${namespace}:${partitionTag(partition)}:${key}`;

export const offsetsKey = (worker: string, partition: Partition) => `offsets:${worker}:${partitionTag(partition)}`;

export const storeIdKey = (worker: string) => `store:${worker}`;

export const rateLimitKey = (apiKeyId: string) => `ratelimit:${apiKeyId}`;

export const workerStatusKey = (worker: string) => `{status}:${worker}`;
export const WORKER_STATUS_PATTERN = "{status}:*";

/** The servers that hold keys: the one server, or every primary of a Cluster (what SCAN or FLUSHDB must visit). */
export const primariesOf = (redis: RedisClient): Redis[] =>
  redis instanceof Cluster ? redis.nodes("master") : [redis];

/** Every key matching a pattern (SCAN, so Redis is never blocked; on a Cluster, every primary's). */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const server of primariesOf(redis)) {
    let cursor = "0";
    do {
      const [next, found] = await server.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== "0");
  }
  return keys;
}

/** Delete keys, one command each (a Cluster refuses one command over keys of several slots); pipelined. */
export async function deleteKeys(redis: RedisClient, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000)
    await Promise.all(keys.slice(i, i + 1000).map((key) => redis.unlink(key)));
}
