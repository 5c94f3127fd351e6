import type { Config } from "./config.ts";
import { createOpenSearch, createRedis, createSql } from "./clients.ts";

/**
 * Empty the Redis db, delete the <INDEX_PREFIX>* indices and empty the
 * Postgres views (attributed_checkouts and the offsets of the workers that
 * write them) of a configuration. For the test and bench environments, which
 * own theirs: a run then starts from views built only by its own workers.
 */
export async function dropViews(config: Config): Promise<void> {
  const redis = createRedis(config);
  const search = createOpenSearch(config);
  const sql = createSql(config, 1);
  try {
    await redis.flushdb();
    await sql`truncate attributed_checkouts, worker_offsets`;
    const { body } = await search.cat.indices({ index: `${config.INDEX_PREFIX}*`, format: "json" });
    const indices = (body as { index: string }[]).map((i) => i.index);
    if (indices.length > 0) await search.indices.delete({ index: indices.join(",") });
  } finally {
    redis.disconnect();
    await search.close();
    await sql.end();
  }
}
