import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { drizzle } from "drizzle-orm/postgres-js";
import { ConfigResourceTypes } from "kafkajs";
import type { AppDependencies } from "../api/app.ts";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { createRedis } from "../infra/platform/clients.ts";
import { applyTopics } from "../infra/platform/kafka/admin.ts";
import { withAdmin } from "../infra/platform/kafka/client.ts";
import { deadLetterTopic, TOPIC, topicSpecs } from "../infra/platform/topology.ts";
import {
  type KafkaCluster,
  kafkaAddresses,
  kafkaNodes,
  startKafkaCluster,
  stopKafkaCluster,
} from "../infra/tools/stack/kafka.ts";
import { runtimePath } from "../infra/tools/stack/paths.ts";
import { runningPid } from "../infra/tools/stack/proc.ts";
import { PROFILE_TOPICS, profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { differingProfiles, type ExpectedProfile, profileRun } from "./fixtures/profile-run.ts";
import { eventually, testConfig, unique } from "./helpers.ts";

/**
 * A 3-node KRaft cluster of its own (the stack's cluster mode, STACK_BROKERS=3,
 * at other ports): the declared topics get 3 replicas and min.insync.replicas
 * 2; one broker is SIGKILLed while events are posted through the API, then
 * all of them, and they are started again. Every event answered 202 is in
 * the profiles; a 503 (allowed, counted) is retried as a client would; the
 * API answers nothing else, and never 202 while no broker runs.
 */
const run = unique("failover");
const cluster: KafkaCluster = {
  label: `kafka-${run}`,
  host: "127.0.0.1",
  port: 19_300 + 10 * Math.floor(Math.random() * 40),
  nodes: 3,
};
const config = { ...testConfig(), KAFKA_BROKERS: kafkaAddresses(cluster) };
const running: RunningWorker[] = [];
let deps: AppDependencies | undefined;
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop()));
  if (deps) await closeApiDependencies(deps);
  await stopKafkaCluster(cluster, "SIGKILL");
  rmSync(runtimePath(`${cluster.label}-cluster`), { recursive: true, force: true });
});

/** The API and a profile worker on the cluster, and a client that posts a batch until it is not answered 503. */
const setUp = () => (setup ??= start());
let setup: ReturnType<typeof start> | undefined;
async function start() {
  await startKafkaCluster(config, cluster, "256m");
  const needed = new Set([...Object.values(PROFILE_TOPICS), deadLetterTopic(TOPIC.clickstream)]);
  const specs = topicSpecs(config.TOPIC_PREFIX).filter((spec) => needed.has(spec.name));
  expect(specs).toHaveLength(6);
  await withAdmin(config, (admin) =>
    applyTopics(admin, specs, { partitions: config.TOPIC_PARTITIONS, replication: 0 }),
  );
  running.push(await runWorker(profileWorker(config, { name: `${run}-profiles` }), config));
  deps = await connectApiDependencies(config);
  const app = createApp(deps);
  const sql = deps.sql;
  const statuses = new Map<number, number>();
  const unavailable: number[] = [];
  return {
    statuses,
    unavailable,
    client: async (partner: string) => {
      const { key } = await createApiKey(drizzle(sql), partner);
      return async (batch: unknown[]) => {
        // A client's loop: a 503 is retried after its Retry-After; anything else ends it.
        for (;;) {
          const response = await app.request("/v1/events", {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify(batch),
          });
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status !== 503) return response.status;
          unavailable.push(Date.now());
          await Bun.sleep(Number(response.headers.get("retry-after") ?? "1") * 1000);
        }
      };
    },
  };
}

const batchesOf = (records: { value: unknown }[], size: number) =>
  Array.from({ length: Math.ceil(records.length / size) }, (_, i) =>
    records.slice(i * size, (i + 1) * size).map((r) => r.value),
  );

async function profilesExact(partner: string, expected: Map<string, ExpectedProfile>) {
  const redis = createRedis(config);
  try {
    await eventually(
      "every event answered 202 to be in the profiles",
      async () => (await differingProfiles(redis, partner, expected, config.TOPIC_PARTITIONS)) === 0,
      120_000,
    );
  } finally {
    redis.disconnect();
  }
}

describe("brokers die during ingest", () => {
  test("topics have 3 replicas (min.insync 2); one of three SIGKILLed: every event answered 202 reaches the profiles; 503s are brief and retried", async () => {
    const { statuses, unavailable, client } = await setUp();
    await withAdmin(config, async (admin) => {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [TOPIC.clickstream] })).topics;
      expect(metadata!.partitions.map((p) => p.replicas.length)).toEqual(
        Array(config.TOPIC_PARTITIONS).fill(3) as number[],
      );
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC.clickstream, configNames: ["min.insync.replicas"] }],
      });
      expect(described.resources[0]!.configEntries[0]!.configValue).toBe("2");
    });

    const { partner, records, expected } = profileRun(run, { events: 12_000, users: 400 });
    const post = await client(partner);
    const batches = batchesOf(records, 40);
    expect(batches).toHaveLength(300);
    const victim = kafkaNodes(cluster)[0]!;
    let killedAt = 0;
    const answered: number[] = [];
    // Four clients at once, a batch every 50 ms each; the first node dies a third of the way in.
    for (let i = 0; i < batches.length; i += 4) {
      if (i === 100) {
        process.kill(runningPid(victim.name)!, "SIGKILL");
        killedAt = Date.now();
      }
      answered.push(...(await Promise.all(batches.slice(i, i + 4).map(post))));
      await Bun.sleep(50);
    }
    const ingestEnded = Date.now();
    expect(killedAt).toBeGreaterThan(0);
    expect(answered.filter((status) => status !== 202)).toEqual([]);
    await profilesExact(partner, expected);
    expect(expected.size).toBe(400);
    expect(running[0]!.stats.state).toBe("running");
    expect([...statuses.keys()].filter((status) => status !== 202 && status !== 503)).toEqual([]);
    const after = unavailable.map((at) => at - killedAt);
    console.log(
      `one broker of three killed: ${batches.length} batches (${records.length} events) answered 202, ` +
        `${statuses.get(503) ?? 0} answers 503 (retried)${after.length ? ` from ${Math.min(...after)} to ${Math.max(...after)} ms after the kill` : ""}; ` +
        `profiles exact ${Date.now() - ingestEnded} ms after the last 202`,
    );
  }, 240_000);

  test("every broker down: the API answers 503, never 202; once they are back the worker resumes and every event is in the profiles", async () => {
    const { statuses, unavailable, client } = await setUp();
    statuses.clear();
    unavailable.length = 0;
    const { partner, records, expected } = profileRun(`${run}-b`, { events: 4000, users: 200 });
    const post = await client(partner);
    const batches = batchesOf(records, 40);

    const downAt = Date.now();
    await stopKafkaCluster(cluster, "SIGKILL");
    // While they are down, a client keeps trying the first batch; the others wait their turn.
    const first = post(batches[0]!);
    await eventually("the API to answer 503 with every broker down", async () => unavailable.length >= 3, 60_000);
    expect(statuses.get(202) ?? 0).toBe(0);
    const restartedAt = Date.now();
    await startKafkaCluster(config, cluster, "256m");
    const back = Date.now();
    expect(await first).toBe(202);
    const answered = [202];
    for (let i = 1; i < batches.length; i += 4)
      answered.push(...(await Promise.all(batches.slice(i, i + 4).map(post))));
    expect(answered.filter((status) => status !== 202)).toEqual([]);
    await profilesExact(partner, expected);
    expect(running[0]!.stats.state).toBe("running");
    expect([...statuses.keys()].filter((status) => status !== 202 && status !== 503)).toEqual([]);
    console.log(
      `every broker down ${restartedAt - downAt} ms: ${statuses.get(503) ?? 0} answers 503, none 202; ` +
        `brokers back ${back - restartedAt} ms after the restart; ${records.length} more events in the profiles ${Date.now() - back} ms after`,
    );
  }, 240_000);
});
