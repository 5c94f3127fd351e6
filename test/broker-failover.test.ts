import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { drizzle } from "drizzle-orm/postgres-js";
import { ConfigResourceTypes } from "kafkajs";
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
import { differingProfiles, profileRun } from "./fixtures/profile-run.ts";
import { eventually, testConfig, unique } from "./helpers.ts";

/**
 * A 3-node KRaft cluster of its own (the stack's cluster mode, STACK_BROKERS=3,
 * at other ports): the declared topics get 3 replicas and min.insync.replicas
 * 2; one broker is SIGKILLed while events are posted through the API. Every
 * event answered 202 is in the profiles; a 503 (allowed, counted) is retried
 * as a client would; the API answers nothing else.
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
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop()));
  await stopKafkaCluster(cluster, "SIGKILL");
  rmSync(runtimePath(`${cluster.label}-cluster`), { recursive: true, force: true });
});

describe("a broker of three dies during ingest", () => {
  test("topics have 3 replicas (min.insync 2); every event answered 202 reaches the profiles; 503s are brief and retried", async () => {
    await startKafkaCluster(config, cluster, "256m");
    const needed = new Set([TOPIC.clickstream, deadLetterTopic(TOPIC.clickstream), PROFILE_TOPICS.actions]);
    const specs = topicSpecs(config.TOPIC_PREFIX).filter((spec) => needed.has(spec.name));
    expect(specs).toHaveLength(3);
    await withAdmin(config, async (admin) => {
      await applyTopics(admin, specs, { partitions: config.TOPIC_PARTITIONS, replication: 0 });
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

    running.push(await runWorker(profileWorker(config, { name: `${run}-profiles` }), config));
    const deps = await connectApiDependencies(config);
    const app = createApp(deps);
    const { partner, records, expected } = profileRun(run, { events: 12_000, users: 400 });
    const { key } = await createApiKey(drizzle(deps.sql), partner);
    const batches = Array.from({ length: 300 }, (_, i) => records.slice(i * 40, (i + 1) * 40).map((r) => r.value));
    expect(batches.at(-1)).toHaveLength(40);

    const statuses = new Map<number, number>();
    let firstUnavailable = 0;
    let lastUnavailable = 0;
    const post = async (batch: unknown[]) => {
      // A client's loop: a 503 is retried after its Retry-After; anything else ends it.
      for (;;) {
        const response = await app.request("/v1/events", {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify(batch),
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status !== 503) return response.status;
        firstUnavailable ||= Date.now();
        lastUnavailable = Date.now();
        await Bun.sleep(Number(response.headers.get("retry-after") ?? "1") * 1000);
      }
    };

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
    try {
      expect(killedAt).toBeGreaterThan(0);
      expect(answered.filter((status) => status !== 202)).toEqual([]);
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
      expect(expected.size).toBe(400);
      expect(running[0]!.stats.state).toBe("running");
      console.log(
        `broker failover: ${batches.length} batches (${records.length} events) answered 202, ` +
          `${statuses.get(503) ?? 0} answers 503 (retried) from ${firstUnavailable ? firstUnavailable - killedAt : 0} to ` +
          `${lastUnavailable ? lastUnavailable - killedAt : 0} ms after the kill; profiles exact ${Date.now() - ingestEnded} ms after the last 202`,
      );
      expect([...statuses.keys()].filter((status) => status !== 202 && status !== 503)).toEqual([]);
    } finally {
      await closeApiDependencies(deps);
    }
  }, 240_000);
});
