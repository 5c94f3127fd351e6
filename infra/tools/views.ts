import { createOpenSearch, createRedis, createSql } from "../platform/clients.ts";
import type { Config } from "../platform/config.ts";
import { withAdmin } from "../platform/kafka/client.ts";
import { primariesOf } from "../platform/redis-keys.ts";

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
    // A Cluster's FLUSHDB reaches one node: every primary empties its own.
    await Promise.all(primariesOf(redis).map((server) => server.flushdb()));
    await sql`truncate attributed_checkouts, worker_offsets, worker_stores`;
    const { body } = await search.cat.indices({ index: `${config.INDEX_PREFIX}*`, format: "json" });
    const indices = (body as { index: string }[]).map((i) => i.index);
    if (indices.length > 0) await search.indices.delete({ index: indices.join(",") });
  } finally {
    redis.disconnect();
    await search.close();
    await sql.end();
  }
}

/**
 * After `dropViews`, for an environment that keeps its consumer groups' place
 * (the bench): commit each of its groups' offsets again without the store
 * they were committed for, so the workers take them as set by hand and go on
 * from there, rather than restore views that were dropped on purpose.
 */
export async function keepGroupPositions(config: Config): Promise<void> {
  if (config.CONSUMER_GROUP_PREFIX === "")
    throw new Error("keepGroupPositions is for an environment with its own CONSUMER_GROUP_PREFIX");
  await withAdmin(config, async (admin) => {
    const { groups } = await admin.listGroups();
    for (const { groupId } of groups.filter((g) => g.groupId.startsWith(config.CONSUMER_GROUP_PREFIX))) {
      for (const { topic, partitions } of await whileCoordinatorLoads(() => admin.fetchOffsets({ groupId }))) {
        const committed = partitions.filter((p) => Number(p.offset) >= 0);
        if (committed.length > 0)
          await whileCoordinatorLoads(() =>
            admin.setOffsets({
              groupId,
              topic,
              partitions: committed.map((p) => ({ partition: p.partition, offset: p.offset })),
            }),
          );
      }
    }
  });
}

/**
 * Retry a group call while the broker answers with a retriable error: right
 * after it starts, a group's coordinator is still loading
 * (NOT_COORDINATOR_FOR_GROUP seen from `bun run bench` just after `stack
 * up`), and kafkajs' admin passes that on instead of retrying.
 */
async function whileCoordinatorLoads<T>(call: () => Promise<T>, attempts = 40): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || attempt >= attempts) throw error;
      await Bun.sleep(250);
    }
  }
}

/**
 * The environment's consumer groups that have members now: another run of
 * it (a bench, or workers started with its settings) is reading its topics
 * and writing the views `dropViews` would empty under it.
 */
export const groupsInUse = (config: Config): Promise<string[]> =>
  withAdmin(config, async (admin) => {
    const ours = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((id) => id.startsWith(config.CONSUMER_GROUP_PREFIX));
    if (ours.length === 0) return [];
    const { groups } = await admin.describeGroups(ours);
    return groups.filter((g) => g.members.length > 0).map((g) => g.groupId);
  });
