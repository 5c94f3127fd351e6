import type { Subprocess } from "bun";
import { Hono } from "hono";
import { type Admin, AssignerProtocol } from "kafkajs";
import type { AuthEnv } from "../api/http/auth.ts";
import type { Scope } from "../api/http/scopes.ts";
import { createRedis } from "../infra/platform/clients.ts";
import { type Config, loadConfig } from "../infra/platform/config.ts";
import { applyTopics } from "../infra/platform/kafka/admin.ts";
import { createKafka, withAdmin } from "../infra/platform/kafka/client.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { offsetsKey } from "../infra/platform/redis-keys.ts";
import type { TopicSpec } from "../infra/platform/topology.ts";
import { deadLetterTopic, TOPIC } from "../infra/platform/topology.ts";
import type { ProfileTopics } from "../workers/profiles/worker.ts";
import { groupIdOf } from "../workers/runtime/runner.ts";

export const ROOT = new URL("..", import.meta.url).pathname;

export const testConfig = (): Config => loadConfig();

/** Names no other test run shares, so runs never see each other's data. */
export const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** A raw test topic and its dead-letter topic, created on the real broker. */
export async function createTestTopic(config: Config, name: string, partitions = 3): Promise<void> {
  const specs: TopicSpec[] = [
    { name, cleanup: "delete", retentionMs: 3_600_000, partitions, description: "test" },
    {
      name: deadLetterTopic(name),
      cleanup: "delete",
      retentionMs: 3_600_000,
      partitions: 1,
      description: "test dead letters",
    },
  ];
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    await applyTopics(admin, specs, { partitions, replication: 1 });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(config: Config, names: string[]): Promise<void> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: names });
  } finally {
    await admin.disconnect();
  }
}

/** A profile worker's topics for one test run, `test.<run>.<name>` (create them with createTestTopic). */
export const profileTestTopics = (run: string): ProfileTopics => ({
  events: `test.${run}.events`,
  actions: `test.${run}.actions`,
  links: `test.${run}.links`,
  changes: `test.${run}.changes`,
  members: `test.${run}.members`,
});

/** Delete test topics and their dead-letter topics. */
export const deleteTopicsAndDeadLetters = (config: Config, names: string[]) =>
  deleteTopics(
    config,
    names.flatMap((name) => [name, deadLetterTopic(name)]),
  );

/** How many records a topic has received: the sum of its partitions' end offsets. */
export async function recordsIn(config: Config, topic: string): Promise<number> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Move a worker's consumer group to the end of its topics, and forget its
 * stream times, so a test's worker folds only what the test produces, as if
 * new, however long the topics' history.
 */
export async function skipToEnd(config: Config, worker: string, topics: string[]): Promise<void> {
  const admin = createKafka(config).admin();
  await admin.connect();
  const redis = createRedis(config);
  try {
    // Explicit end offsets: a reset "to latest" is stored as -1, which a
    // consumer reading from the beginning takes as "no offset yet".
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      // A member killed by an earlier run stays in the group until its session times out.
      await eventually(
        `group ${worker} to have no live members`,
        async () => {
          await admin.setOffsets({
            groupId: groupIdOf(config, worker),
            topic,
            partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
          });
          return true;
        },
        60_000,
      );
      // The worker's stream times came from an earlier run's event times: a
      // run starting a day back (test data spans hours) would find its own
      // records late behind them and drop them. Its next record starts them again.
      for (const { partition } of ends) await redis.hdel(offsetsKey(worker, partition), `${topic}:${partition}:time`);
    }
  } finally {
    redis.disconnect();
    await admin.disconnect();
  }
}

/** What a crash test did: kills of a worker that owned partitions, and how many of them found records not yet committed. */
export type KillReport = { kills: number; midBatch: number };

/** How long a victim's group has had nothing uncommitted before it is killed idle. */
const QUIET_MS = 5000;

/**
 * A worker process a crash test kills, fairly: `killWhenWorking` waits until
 * the running process owns partitions of `group` (its consumer group, by the
 * client id each process gets; a process still joining tests nothing), then
 * kills it (SIGKILL) the moment it has committed since it started, so the kill
 * lands in the middle of the work it was given, and starts the next. The
 * wait never depends on the pipeline being slow: a victim whose work was all
 * done before it joined (its group's topics have had nothing uncommitted for
 * `QUIET_MS`) is killed idle. A kill is mid-batch when its group had records
 * not yet committed at that moment.
 */
export async function crashableWorker(
  config: Config,
  spawn: (env: Record<string, string>) => Subprocess,
  group: { worker: string; topics: string[] },
) {
  const groupId = groupIdOf(config, group.worker);
  const report: KillReport = { kills: 0, midBatch: 0 };
  let incarnation = 0;
  const positions = async (admin: Admin) => {
    let committed = 0;
    let lag = 0;
    for (const topic of group.topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const end of ends) {
        const at = Math.max(0, Number(offsets!.partitions.find((p) => p.partition === end.partition)?.offset ?? -1));
        committed += at;
        lag += Math.max(0, Number(end.high) - Math.max(at, Number(end.low)));
      }
    }
    return { committed, lag };
  };
  /** A new process, and the group's committed position when it started: it has committed once the position moved past it. */
  const start = async () => {
    const atStart = await withAdmin(config, async (admin) => (await positions(admin)).committed);
    return { process: spawn({ KAFKA_CLIENT_ID: `crash-victim-${++incarnation}` }), atStart };
  };
  let current = await start();
  return {
    report,
    get process() {
      return current.process;
    },
    async killWhenWorking(): Promise<void> {
      await withAdmin(config, async (admin) => {
        const clientId = `crash-victim-${incarnation}`;
        await eventually(
          `${clientId} to own partitions of ${groupId}`,
          async () => {
            const [described] = (await admin.describeGroups([groupId])).groups;
            const member =
              described?.state === "Stable" ? described.members.find((m) => m.clientId === clientId) : undefined;
            if (!member) return false;
            const { assignment } = AssignerProtocol.MemberAssignment.decode(member.memberAssignment) ?? {
              assignment: {},
            };
            return Object.values(assignment as Record<string, number[]>).some((partitions) => partitions.length > 0);
          },
          60_000,
        );
        // No sleep between looks: a victim at a pipeline's speed commits a whole slice within a few hundred ms.
        const deadline = Date.now() + 60_000;
        let quietSince = Date.now();
        let now = await positions(admin);
        while (now.committed <= current.atStart) {
          if (now.lag > 0) quietSince = Date.now();
          else if (Date.now() - quietSince > QUIET_MS) break;
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${clientId} to commit`);
          now = await positions(admin);
        }
        current.process.kill("SIGKILL");
        await current.process.exited;
        report.kills++;
        if (now.lag > 0) report.midBatch++;
      });
      current = await start();
    },
  };
}

/**
 * Produce `records` in slices while a worker process runs, killing it (see
 * `crashableWorker`) after every `killEvery` records. Returns the process
 * left running, the kills planned and what the kills found.
 */
export async function produceWithKills(
  config: Config,
  records: OutRecord[],
  spawn: (env: Record<string, string>) => Subprocess,
  { slice, killEvery, group }: { slice: number; killEvery: number; group: { worker: string; topics: string[] } },
): Promise<KillReport & { worker: Subprocess; planned: number }> {
  const producer = await createProducer(config);
  const victim = await crashableWorker(config, spawn, group);
  let planned = 0;
  try {
    for (let i = 0; i < records.length; i += slice) {
      await producer.send(records.slice(i, i + slice));
      if (i > 0 && i % killEvery === 0) {
        planned++;
        await victim.killWhenWorking();
      }
    }
  } catch (error) {
    // No worker outlives a failed test: it would fold what later tests produce.
    victim.process.kill("SIGKILL");
    throw error;
  } finally {
    await producer.disconnect();
  }
  return { worker: victim.process, planned, ...victim.report };
}

/** Records of `topics` a worker's group has not committed yet. */
export async function groupLag(config: Config, worker: string, topics: readonly string[]): Promise<number> {
  return withAdmin(config, async (admin) => {
    let lag = 0;
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [offsets] = await admin.fetchOffsets({ groupId: groupIdOf(config, worker), topics: [topic] });
      for (const end of ends) {
        const at = Number(offsets!.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        lag += Math.max(0, Number(end.high) - Math.max(at, Number(end.low)));
      }
    }
    return lag;
  });
}

/** Poll until `check` returns a value; fail with `what` after the deadline. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** Run a command to completion and capture its output. */
export async function runCommand(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 300_000) {
  const child = Bun.spawn(args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: timeoutMs,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

export type TailedRecord = { key: string; value: string; headers: Record<string, string> };

/** Collect what is produced to `topic` from now on (a fresh group moved to the end first). */
export async function tailTopic(
  config: Config,
  topic: string,
): Promise<{ records: TailedRecord[]; stop(): Promise<void> }> {
  const group = unique("tail");
  await skipToEnd(config, group, [topic]);
  const consumer = createKafka(config).consumer({ groupId: groupIdOf(config, group) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const records: TailedRecord[] = [];
  await consumer.run({
    eachMessage: async ({ message }) =>
      void records.push({
        key: message.key?.toString() ?? "",
        value: message.value?.toString() ?? "",
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      }),
  });
  return { records, stop: () => consumer.disconnect() };
}

/** Routes behind a stand-in for the API key middleware: every request comes with a key of `partnerId` carrying `scopes`. */
export const withKey = (routes: Hono<AuthEnv>, scopes: Scope[], partnerId = "test-partner") =>
  new Hono<AuthEnv>()
    .use(async (c, next) => {
      c.set("partnerId", partnerId);
      c.set("scopes", scopes);
      c.set("keyId", "test");
      await next();
    })
    .route("/", routes);

/** Every record a topic holds now (a fresh group reads it from the beginning to its current end). */
export async function readTopic(config: Config, topic: string): Promise<TailedRecord[]> {
  const admin = createKafka(config).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((n, p) => n + Number(p.high), 0);
  const records: TailedRecord[] = [];
  if (total === 0) return records;
  const consumer = createKafka(config).consumer({ groupId: groupIdOf(config, unique("read")) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = Promise.withResolvers<void>();
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push({
        key: message.key?.toString() ?? "",
        value: message.value?.toString() ?? "",
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      });
      if (records.length >= total) done.resolve();
    },
  });
  await Promise.race([done.promise, Bun.sleep(60_000)]);
  await consumer.disconnect();
  return records;
}

/**
 * A clickstream event as a dead letter, the way the runner writes one (the
 * original bytes, the reason, the worker and the source in headers): a
 * record an earlier version refused that the current one accepts.
 */
export async function writeDeadLetter(
  config: Config,
  event: { user_id: string },
  { reason, partition, offset }: { reason: string; partition: number; offset: number },
): Promise<void> {
  const producer = await createProducer(config);
  try {
    await producer.send([
      {
        topic: deadLetterTopic(TOPIC.clickstream),
        key: event.user_id,
        value: Buffer.from(JSON.stringify(event)),
        headers: {
          "dlq.reason": reason,
          "dlq.worker": "profiles",
          "dlq.source.topic": TOPIC.clickstream,
          "dlq.source.partition": String(partition),
          "dlq.source.offset": String(offset),
        },
      },
    ]);
  } finally {
    await producer.disconnect();
  }
}
