import { Client as OpenSearch } from "@opensearch-project/opensearch";
import Redis from "ioredis";
import postgres from "postgres";
import type { Config } from "./config.ts";

/** Connections to the stores, built one way everywhere. */

export function createRedis(config: Config): Redis {
  return new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
}

export function createSql(config: Config, max = 10) {
  return postgres(config.DATABASE_URL, { max, onnotice: () => {} });
}

export function createOpenSearch(config: Config): OpenSearch {
  return new OpenSearch({ node: config.OPENSEARCH_URL, requestTimeout: 10_000 });
}
