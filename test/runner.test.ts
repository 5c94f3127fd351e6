import { afterAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { KafkaJSNonRetriableError } from "kafkajs";
import { createRedis } from "../infra/platform/clients.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { offsetsKey, type RedisClient } from "../infra/platform/redis-keys.ts";
import { deadLetterTopic } from "../infra/platform/topology.ts";
import { groupsInUse } from "../infra/tools/views.ts";
import { groupIdOf, type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { redisStateStore } from "../workers/runtime/stores/redis-state.ts";
import type { Change } from "../workers/runtime/worker.ts";
import { countWorker, type Tally, tallies } from "./fixtures/count-worker.ts";
import { createTestTopic, deleteTopics, eventually, ROOT, testConfig, unique } from "./helpers.ts";

const config = testConfig();
const topicsToDelete: string[] = [];
afterAll(() => deleteTopics(config, topicsToDelete));

async function newTopic(prefix: string, partitions = 3): Promise<string> {
  const topic = unique(prefix);
  await createTestTopic(config, topic, partitions);
  topicsToDelete.push(topic, deadLetterTopic(topic));
  return topic;
}

/** `count` readings over `keys` keys; returns the records and the tallies they must produce. */
function readings(topic: string, count: number, keys: number) {
  const records: OutRecord[] = [];
  const expected = new Map<string, Tally>();
  for (let i = 0; i < count; i++) {
    const key = `k${i % keys}`;
    records.push({ topic, key, value: { key, n: i } });
    const tally = expected.get(key) ?? { count: 0, sum: 0 };
    expected.set(key, { count: tally.count + 1, sum: tally.sum + i });
  }
  return { records, expected };
}

async function produce(records: OutRecord[]): Promise<void> {
  const producer = await createProducer(config);
  await producer.send(records);
  await producer.disconnect();
}

/** The group's tallies of these keys. */
async function talliesOf(redis: RedisClient, group: string, keys: Iterable<string>): Promise<Map<string, Tally>> {
  const all = await tallies(redis, group);
  return new Map([...keys].flatMap((key) => (all.has(key) ? [[key, all.get(key)!] as const] : [])));
}

const totalCount = (map: Map<string, Tally>) => [...map.values()].reduce((n, t) => n + t.count, 0);

/** Produce the records, wait until the worker has counted them all, stop it. */
async function produceAndCount(
  running: RunningWorker,
  records: OutRecord[],
  counted: () => Promise<Map<string, Tally>>,
  what: string,
) {
  try {
    await produce(records);
    await eventually(what, async () => totalCount(await counted()) === records.length, 60_000);
  } finally {
    await running.stop();
  }
}

describe("worker runner", () => {
  test("a test worker's store and sink see every record exactly once, coalesced per key per flush", async () => {
    const topic = await newTopic("test.runner-once");
    const group = unique("test-count");
    const { records, expected } = readings(topic, 600, 10);
    await produce(records);

    const redis = createRedis(config);
    const flushes: Change<Tally>[][] = [];
    const sink = {
      name: "collect",
      write: async (changes: readonly Change<Tally>[]) => void flushes.push([...changes]),
    };
    const running = await runWorker(
      countWorker({ name: group, topic, redis: createRedis(config), sinks: [sink] }),
      config,
    );
    try {
      await eventually(
        "all 600 readings to be counted",
        async () => totalCount(await talliesOf(redis, group, expected.keys())) === 600,
      );
    } finally {
      await running.stop();
    }

    expect(await talliesOf(redis, group, expected.keys())).toEqual(expected);
    expect(running.stats.records).toBe(600);
    // Coalesced: within one flush a key is written once, with its newest state.
    expect(flushes.length).toBeGreaterThan(0);
    for (const flush of flushes) expect(new Set(flush.map((c) => c.key)).size).toBe(flush.length);
    const lastSeen = new Map<string, Tally | null>();
    for (const flush of flushes) for (const change of flush) lastSeen.set(change.key, change.state);
    expect(lastSeen).toEqual(expected);
    expect(flushes.flat().length).toBeLessThan(600);
    redis.disconnect();
  });

  test("a worker folds onto the states it committed without reading them back; once another writer moves the store's applied offset, it reads the store's", async () => {
    const topic = await newTopic("test.runner-cache", 1);
    const group = unique("test-count");
    const redis = createRedis(config);
    const worker = countWorker({ name: group, topic, redis: createRedis(config) });
    const asked: string[][] = [];
    const load = worker.store.load.bind(worker.store);
    worker.store.load = (tp, keys, ...rest) => {
      asked.push([...keys]);
      return load(tp, keys, ...rest);
    };
    const counted = async () => (await talliesOf(redis, group, ["k0"])).get("k0")?.count;
    const running = await runWorker(worker, config);
    try {
      // Offsets 0-9, then 10-19: the second chunks find k0 kept from the first.
      await produce(readings(topic, 10, 1).records);
      await eventually("the first 10 readings to be counted", async () => (await counted()) === 10);
      const afterFirst = asked.length;
      expect(asked.some((keys) => keys.includes("k0"))).toBe(true);
      // Its status counts the states it read from the store (k0, once) and took from memory (none yet).
      const readFirst = asked.flat().length;
      expect(running.stats).toMatchObject({ statesKept: 0, statesRead: readFirst });
      await produce(readings(topic, 10, 1).records);
      await eventually("20 readings to be counted", async () => (await counted()) === 20);
      expect(asked.length).toBeGreaterThan(afterFirst);
      for (const keys of asked.slice(afterFirst)) expect(keys).toEqual([]);
      // k0 from memory in every chunk since, and nothing more from the store.
      expect(running.stats.statesKept).toBeGreaterThan(0);
      expect(running.stats.statesKept).toBeLessThanOrEqual(asked.length - afterFirst);
      expect(running.stats.statesRead).toBe(readFirst);

      // Another member folded offsets 20 and 21 (k0 at 100) and committed them; this worker did not see it.
      const tp = { topic, partition: 0 };
      const { incarnation } = await worker.store.load(tp, [], []);
      const outside = redisStateStore<Tally>({
        redis: createRedis(config),
        namespace: `${group}:tally`,
        worker: group,
      });
      await outside.commit(
        tp,
        [{ key: "k0", state: { count: 100, sum: 0 }, version: 22n, event: undefined }],
        "21",
        undefined,
        incarnation!,
      );
      await outside.close();
      const beforeOutside = asked.length;
      // Offsets 20-22: 20 and 21 are the store's already, 22 counts onto the store's 100, not onto the kept 20.
      await produce(readings(topic, 3, 1).records);
      // The store's commit is visible in Redis a moment before the runner counts the chunk in its stats.
      await eventually(
        "the worker to have taken offsets 20-22",
        async () => running.stats.records + running.stats.skipped === 23,
      );
      expect(await counted()).toBe(101);
      expect(asked.slice(beforeOutside).some((keys) => keys.includes("k0"))).toBe(true);
      expect(running.stats.skipped).toBe(2);
      expect(running.stats.statesRead).toBeGreaterThan(readFirst);
    } finally {
      await running.stop();
      redis.disconnect();
    }
  });

  test("a worker's group is in use while it runs and not after it stopped (what the bench refuses to start beside)", async () => {
    const topic = await newTopic("test.runner-in-use", 1);
    const group = unique("test-in-use");
    const redis = createRedis(config);
    const running = await runWorker(countWorker({ name: group, topic, redis }), config);
    const groupId = groupIdOf(config, group);
    try {
      await eventually("the worker's group to have its member", async () =>
        (await groupsInUse(config)).includes(groupId) ? true : undefined,
      );
    } finally {
      await running.stop();
      redis.disconnect();
    }
    expect(await groupsInUse(config)).not.toContain(groupId);
  });

  test("a store commit that never answers fails its chunk after WORKER_FLUSH_TIMEOUT_MS; the chunk is read again and counted once", async () => {
    const topic = await newTopic("test.runner-hang", 1);
    const group = unique("test-hang");
    const { records, expected } = readings(topic, 300, 5);
    const redis = createRedis(config);
    const worker = countWorker({ name: group, topic, redis: createRedis(config) });
    // The first commit hangs forever (a write lost on a dropped connection); later ones go through.
    const commit = worker.store.commit.bind(worker.store);
    let hung = 0;
    worker.store.commit = (...args) => {
      if (hung++ === 0) return new Promise(() => {});
      return commit(...args);
    };
    const running = await runWorker(worker, { ...config, WORKER_FLUSH_TIMEOUT_MS: 2000 });
    await produceAndCount(
      running,
      records,
      () => talliesOf(redis, group, expected.keys()),
      "all 300 readings to be counted despite the hung commit",
    );
    expect(hung).toBeGreaterThan(1);
    expect(await talliesOf(redis, group, expected.keys())).toEqual(expected);
    expect(running.stats.lastError).toContain("WORKER_FLUSH_TIMEOUT_MS");
    redis.disconnect();
  }, 90_000);

  test("a chunk whose store commit outlasts the session timeout keeps its partitions: no rebalance, no error, counted once", async () => {
    const topic = await newTopic("test.runner-slow", 1);
    const group = unique("test-slow");
    const { records, expected } = readings(topic, 300, 5);
    const redis = createRedis(config);
    const worker = countWorker({ name: group, topic, redis: createRedis(config) });
    // The first commit takes 2.5 session timeouts (a store that is slow, not down).
    const sessionMs = 6000;
    const commit = worker.store.commit.bind(worker.store);
    let slow = 0;
    worker.store.commit = async (...args) => {
      if (slow++ === 0) await Bun.sleep(sessionMs * 2.5);
      return commit(...args);
    };
    const started = Date.now();
    const running = await runWorker(worker, {
      ...config,
      WORKER_SESSION_TIMEOUT_MS: sessionMs,
      WORKER_FLUSH_TIMEOUT_MS: 60_000,
      WORKER_MAX_BATCH: 50,
    });
    await produceAndCount(
      running,
      records,
      () => talliesOf(redis, group, expected.keys()),
      "all 300 readings to be counted after the slow commit",
    );
    expect(slow).toBeGreaterThan(1);
    expect(Date.now() - started).toBeGreaterThan(sessionMs * 2.5);
    expect(await talliesOf(redis, group, expected.keys())).toEqual(expected);
    // Dropped from the group, its consumer commit would have been refused (and recorded here).
    expect(running.stats.lastError).toBeNull();
    redis.disconnect();
  }, 90_000);

  test("a consumer error kafkajs does not retry starts the consumer again; every record is still counted once", async () => {
    const topic = await newTopic("test.runner-crash", 1);
    const group = unique("test-crash");
    const { records, expected } = readings(topic, 300, 5);
    const redis = createRedis(config);
    let thrown = 0;
    const chunks = { ...config, WORKER_MAX_BATCH: 50 };
    const running = await runWorker(countWorker({ name: group, topic, redis: createRedis(config) }), chunks, {
      hooks: {
        // After the first chunk's state is written and before its consumer commit.
        afterFlush: async () => {
          if (thrown++ === 0) throw new KafkaJSNonRetriableError("the group dropped this member (simulated)");
        },
      },
    });
    await produceAndCount(
      running,
      records,
      () => talliesOf(redis, group, expected.keys()),
      "all 300 readings to be counted after the crash",
    );
    expect(thrown).toBeGreaterThan(1);
    expect(await talliesOf(redis, group, expected.keys())).toEqual(expected);
    expect(running.stats.lastError).toContain("simulated");
    redis.disconnect();
  }, 90_000);

  test("records that break the contract go to the dead-letter topic with the reason; the partition keeps flowing", async () => {
    const topic = await newTopic("test.runner-dlq", 1);
    const group = unique("test-count");
    const bad: OutRecord[] = [
      { topic, key: "k1", value: Buffer.from("{not json") },
      { topic, key: "k1", value: { key: "k1" } },
      { topic, key: "k1", value: { key: "k1", n: "seven" } },
      { topic, key: "k1", value: null },
    ];
    await produce([
      { topic, key: "k1", value: { key: "k1", n: 1 } },
      ...bad,
      { topic, key: "k1", value: { key: "k1", n: 2 } },
    ]);

    const redis = createRedis(config);
    const running = await runWorker(countWorker({ name: group, topic, redis: createRedis(config) }), config);
    try {
      await eventually(
        "both good readings to be counted",
        async () => (await talliesOf(redis, group, ["k1"])).get("k1")?.count === 2,
      );
    } finally {
      await running.stop();
    }
    expect((await talliesOf(redis, group, ["k1"])).get("k1")).toEqual({ count: 2, sum: 3 });
    expect(running.stats.deadLettered).toBe(4);

    const consumer = createKafka(config).consumer({ groupId: unique("test-dlq-reader") });
    await consumer.connect();
    await consumer.subscribe({ topic: deadLetterTopic(topic), fromBeginning: true });
    const dead: { value: string; reason: string; offset: string; key: string }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) =>
        void dead.push({
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? "",
          reason: message.headers?.["dlq.reason"]?.toString() ?? "",
          offset: message.headers?.["dlq.source.offset"]?.toString() ?? "",
        }),
    });
    await eventually("four dead letters", async () => dead.length === 4);
    await consumer.disconnect();
    expect(dead.map((d) => d.offset)).toEqual(["1", "2", "3", "4"]);
    expect(dead.map((d) => d.key)).toEqual(["k1", "k1", "k1", "k1"]);
    expect(dead[0]?.value).toBe("{not json");
    expect(dead[0]?.reason).toContain("invalid JSON");
    expect(dead[1]?.reason).toContain("n");
    expect(dead[2]?.reason).toContain("number");
    expect(dead[3]?.value).toBe("");
    redis.disconnect();
  });

  test("killed between the state flush and the offset commit, a worker's restart applies nothing twice", async () => {
    const topic = await newTopic("test.runner-crash");
    const group = unique("test-count");
    const { records, expected } = readings(topic, 3000, 25);
    await produce(records);
    const redis = createRedis(config);
    const admin = createKafka(config).admin();
    await admin.connect();

    const env = { COUNT_TOPIC: topic, COUNT_GROUP: group, WORKER_MAX_BATCH: "100", WORKER_SESSION_TIMEOUT_MS: "6000" };
    const spawnWorker = (crash: boolean): Subprocess<"ignore", "pipe", "pipe"> =>
      Bun.spawn([process.execPath, "test/fixtures/run-count-worker.ts"], {
        cwd: ROOT,
        env: { ...process.env, ...env, CRASH_AFTER_FLUSH: crash ? "1" : "0" },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });

    try {
      for (let crash = 1; crash <= 3; crash++) {
        const worker = spawnWorker(true);
        const [out] = await Promise.all([new Response(worker.stdout).text(), worker.exited]);
        expect(worker.signalCode).toBe("SIGKILL");
        const [, tp, offset] = out.match(/flushed (\S+)@(\d+); dying/) ?? [];
        expect(tp).toBeDefined();
        const partition = Number(tp!.split(":").pop());
        // The flush reached Redis, the commit never reached the broker.
        const applied = await redis.hget(offsetsKey(group, partition), `${topic}:${partition}`);
        expect(applied).toBe(offset!);
        const committed = await admin.fetchOffsets({ groupId: groupIdOf(config, group), topics: [topic] });
        const committedOffset = BigInt(committed[0]!.partitions.find((p) => p.partition === partition)!.offset);
        expect(committedOffset).toBeLessThanOrEqual(BigInt(offset!));
      }
      expect(totalCount(await talliesOf(redis, group, expected.keys()))).toBeGreaterThan(0);

      const worker = spawnWorker(false);
      const stdout = new Response(worker.stdout).text();
      await eventually(
        "all 3000 readings to be counted",
        async () => totalCount(await talliesOf(redis, group, expected.keys())) === 3000,
        90_000,
      );
      worker.kill("SIGTERM");
      expect(await worker.exited).toBe(0);
      const stats = JSON.parse((await stdout).match(/stats (\{.*\})/)?.[1] ?? "{}") as { skipped?: number };
      // The restart re-read what the crashed runs had flushed but not committed, and dropped it.
      expect(stats.skipped).toBeGreaterThan(0);

      expect(await talliesOf(redis, group, expected.keys())).toEqual(expected);
      // A graceful stop leaves every partition committed to its end.
      const ends = await admin.fetchTopicOffsets(topic);
      const committed = await admin.fetchOffsets({ groupId: groupIdOf(config, group), topics: [topic] });
      for (const end of ends) {
        expect(committed[0]!.partitions.find((p) => p.partition === end.partition)?.offset).toBe(end.high);
      }
    } finally {
      await admin.disconnect();
      redis.disconnect();
    }
  }, 240_000);
});
