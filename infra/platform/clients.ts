import { Client as OpenSearch } from "@opensearch-project/opensearch";
import Redis from "ioredis";
import postgres from "postgres";
import type { Config } from "./config.ts";
import type { RedisClient } from "./redis-keys.ts";
import "./tracing-channels.ts";

/** Connections to the stores, built one way everywhere. */

/** One server, or with REDIS_CLUSTER a Redis Cluster found from the node REDIS_URL names. */
export function createRedis(config: Config): RedisClient {
  const perServer = { maxRetriesPerRequest: 2 };
  if (!config.REDIS_CLUSTER) return new Redis(config.REDIS_URL, { ...perServer, enableAutoPipelining: true });
  const url = new URL(config.REDIS_URL);
  return new Redis.Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    enableAutoPipelining: true,
    redisOptions: { ...perServer, password: url.password || undefined },
  });
}

export function createSql(config: Config, max = 10) {
  return postgres(config.DATABASE_URL, { max, onnotice: () => {} });
}

export function createOpenSearch(config: Config): OpenSearch {
  return new OpenSearch({ node: config.OPENSEARCH_URL, requestTimeout: 10_000 });
}
