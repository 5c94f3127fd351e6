import { configOrExit, type Config } from "../infra/config.ts";
import { createOpenSearch, createRedis } from "../infra/clients.ts";
import { createKafka } from "../infra/kafka/client.ts";
import { groupIdOf, runWorker } from "./runner.ts";
import { contentViewsWorker } from "./personalization/worker.ts";
import { PROFILE_NAMESPACE, profilesIndex } from "./profiles/profile.ts";
import { profileWorker } from "./profiles/worker.ts";
import { offsetsKey } from "../infra/redis-keys.ts";
import { USERINFO_NAMESPACE, userInfoIndex } from "./userinfo/userinfo.ts";
import { userInfoWorker } from "./userinfo/worker.ts";
import type { Worker } from "./worker.ts";

/** What a view is made of: its worker, its Redis key patterns (its applied offsets included) and its index, if any. */
export type View = { worker(config: Config): Worker<unknown, unknown>; keys: string[]; index?(prefix: string): string };

const VIEWS: Record<string, View> = {
  // Replaying clickstream.events re-emits push actions; the notifier delivers each once (its handled marks outlive the topic).
  profiles: { worker: ((config: Config) => profileWorker(config)) as View["worker"], keys: [`${PROFILE_NAMESPACE}:*`, offsetsKey("profiles")], index: profilesIndex },
  userinfo: { worker: ((config: Config) => userInfoWorker(config)) as View["worker"], keys: [`${USERINFO_NAMESPACE}:*`, offsetsKey("userinfo")], index: userInfoIndex },
  // The personalization results the API serves, from content.user-activity and content.popular.
  "content-views": { worker: ((config: Config) => contentViewsWorker(config)) as View["worker"], keys: ["content-views:*", offsetsKey("content-views")] },
};

async function dropRedisKeys(config: Config, patterns: string[]): Promise<number> {
  const redis = createRedis(config);
  let dropped = 0;
  try {
    for (const pattern of patterns) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) dropped += await redis.unlink(...keys);
      } while (cursor !== "0");
    }
  } finally {
    redis.disconnect();
  }
  return dropped;
}

/**
 * Drop a view's Redis keys and search index, then fold its input topics again
 * from the beginning until it has caught up with where they ended when the
 * rebuild began. The view's worker must not be running meanwhile (its
 * consumer group is rewound, which the broker refuses while it has members).
 */
export async function rebuildView(config: Config, name: string, say: (line: string) => void = console.log) {
  const view = VIEWS[name];
  if (!view) throw new Error(`no view named ${name}; known: ${Object.keys(VIEWS).join(", ")}`);
  return rebuild(config, name, view, say);
}

/** The same for a view given whole (tests rebuild views of workers pointed at their own topics). */
export async function rebuild(config: Config, name: string, view: View, say: (line: string) => void = console.log) {
  const started = performance.now();
  const worker = view.worker(config);
  const groupId = groupIdOf(config, worker.name);
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const dropped = await dropRedisKeys(config, view.keys);
    if (view.index) {
      const search = createOpenSearch(config);
      await search.indices.delete({ index: view.index(config.INDEX_PREFIX), ignore_unavailable: true });
      await search.close();
      say(`dropped ${dropped} Redis keys and the index ${view.index(config.INDEX_PREFIX)}`);
    } else {
      say(`dropped ${dropped} Redis keys`);
    }

    const targets = new Map<string, { partition: number; high: string }[]>();
    for (const topic of worker.inputs) {
      const offsets = await admin.fetchTopicOffsets(topic);
      targets.set(topic, offsets);
      await admin.setOffsets({ groupId, topic, partitions: offsets.map((p) => ({ partition: p.partition, offset: p.low })) });
    }
    const records = [...targets.values()].flat().reduce((n, p) => n + Number(p.high), 0);
    say(`replaying ${worker.inputs.join(", ")} from the beginning (up to ${records} records)`);

    const running = await runWorker(worker, config);
    try {
      for (;;) {
        const committed = await admin.fetchOffsets({ groupId, topics: worker.inputs as string[] });
        const done = committed.every(({ topic, partitions }) =>
          targets.get(topic)!.every((t) => BigInt(partitions.find((p) => p.partition === t.partition)?.offset ?? "-1") >= BigInt(t.high)),
        );
        if (done) break;
        await Bun.sleep(250);
      }
    } finally {
      await running.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    say(`rebuilt ${name}: ${running.stats.records} records folded in ${seconds.toFixed(1)}s`);
    return { seconds, records: running.stats.records };
  } finally {
    await admin.disconnect();
  }
}

if (import.meta.main) {
  const config = configOrExit();
  const name = process.argv[2];
  if (!name || !(name in VIEWS)) {
    console.error(`usage: bun run rebuild <view>   views: ${Object.keys(VIEWS).join(", ")}\n(stop the view's worker first)`);
    process.exit(2);
  }
  try {
    // --json: one JSON line for the bench instead of the narration.
    const json = process.argv.includes("--json");
    const result = await rebuildView(config, name, json ? () => {} : console.log);
    if (json) console.log(JSON.stringify(result));
    process.exit(0);
  } catch (error) {
    console.error(`rebuild ${name} failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
