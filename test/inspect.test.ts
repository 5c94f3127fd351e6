import { afterAll, describe, expect, test } from "bun:test";
import { createRedis } from "../infra/platform/clients.ts";
import type { ClickstreamEvent } from "../infra/platform/contracts/clickstream.ts";
import type { DeadLetter } from "../infra/platform/kafka/dead-letters.ts";
import type { GroupInfo, InspectedRecord, TopicInfo } from "../infra/platform/kafka/inspect.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic, TOPIC } from "../infra/platform/topology.ts";
import { profileKey } from "../workers/profiles/view.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { eventually, runCommand, skipToEnd, testConfig, unique, writeDeadLetter } from "./helpers.ts";

/**
 * The inspection commands (`topics`, `groups`, `tail`, `dlq`) as a user runs
 * them, against the tests' own topics: what a record posted looks like,
 * which group reads a topic and how far behind, a group moved back, a dead
 * letter listed and replayed into its view.
 */
const config = testConfig();
const run = unique("inspect");
const bun = async <T>(...args: string[]): Promise<T> => {
  const out = await runCommand([process.execPath, ...args, "--json"], {}, 120_000);
  if (out.code !== 0) throw new Error(`${args.join(" ")} exited ${out.code}: ${out.stderr}`);
  return JSON.parse(out.stdout) as T;
};
const lines = async (...args: string[]) => {
  const out = await runCommand([process.execPath, ...args, "--json"], {}, 120_000);
  expect({ args, code: out.code }).toEqual({ args, code: 0 });
  return out.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as InspectedRecord);
};
type UserEvent = ClickstreamEvent & { user_id: string };
const event = (n: number, extra: Partial<UserEvent> = {}): UserEvent => ({
  event_id: `${run}-e${n}`,
  type: "page_view",
  user_id: `${run}-u${n % 3}`,
  partner_id: `${run}-p`,
  occurred_at: new Date().toISOString(),
  ...extra,
});
const redis = createRedis(config);
let worker: RunningWorker | undefined;
afterAll(async () => {
  await worker?.stop();
  redis.disconnect();
});

describe("bun run tail, topics, groups", () => {
  test("tail shows a record with its key, headers and decoded value, and marks one that breaks the contract", async () => {
    const first = event(1);
    const producer = await createProducer(config);
    await producer.send([
      { topic: TOPIC.clickstream, key: `${run}-u1`, value: first, headers: { source: run } },
      { topic: TOPIC.clickstream, key: `${run}-u1`, value: { ...event(2), type: "teleport" } },
    ]);
    await producer.disconnect();
    const records = await lines(
      "infra/tools/inspect/tail.ts",
      TOPIC.clickstream,
      "--from",
      "earliest",
      "--grep",
      run,
      "--limit",
      "1000",
    );
    expect(records.length).toBe(2);
    const [good, bad] = records.sort((a, b) => Number(a.offset) - Number(b.offset));
    expect(good).toMatchObject({
      topic: TOPIC.clickstream,
      key: `${run}-u1`,
      headers: { source: run },
      json: first,
      invalid: null,
    });
    expect(bad!.invalid).toContain("type");
    const byKey = await lines(
      "infra/tools/inspect/tail.ts",
      TOPIC.clickstream,
      "--from",
      "earliest",
      "--key",
      `${run}-u1`,
      "--limit",
      "1000",
    );
    expect(byKey.map((r) => r.offset).sort()).toEqual(records.map((r) => r.offset).sort());
  });

  test("topics shows partitions, watermarks, configs and the groups that read a topic; groups show lag that falls to 0", async () => {
    const name = `${run}-profiles`;
    await skipToEnd(config, name, [TOPIC.clickstream, TOPIC.identityChanges]);
    worker = await runWorker(profileWorker(config, { name }), config);
    const producer = await createProducer(config);
    await producer.send(
      Array.from({ length: 30 }, (_, n) => ({
        topic: TOPIC.clickstream,
        key: `${run}-u${n % 3}`,
        value: event(100 + n),
      })),
    );
    await producer.disconnect();
    const groupId = `${config.CONSUMER_GROUP_PREFIX}${name}`;
    const caughtUp = await eventually("the group's lag to fall to 0", async () => {
      const [group] = await bun<GroupInfo[]>("infra/tools/inspect/groups.ts", groupId);
      return group && group.lag === 0 && group.offsets.some((o) => Number(o.committed) > 0) ? group : undefined;
    });
    expect(caughtUp.members.length).toBe(1);
    expect(caughtUp.members[0]!.assignment[TOPIC.clickstream]?.length).toBe(config.TOPIC_PARTITIONS);

    const [topic] = await bun<TopicInfo[]>("infra/tools/inspect/topics.ts", TOPIC.clickstream);
    expect(topic!.partitions.length).toBe(config.TOPIC_PARTITIONS);
    expect(topic!.configs.cleanupPolicy).toBe("delete");
    expect(topic!.readBy).toContain(groupId);
    expect(topic!.contract).toContain("clickstream");
    expect(topic!.records).toBeGreaterThanOrEqual(32);

    await worker.stop();
    worker = undefined;
    const reset = await bun<{ lag: number }[]>(
      "infra/tools/inspect/groups.ts",
      groupId,
      "--reset",
      "earliest",
      "--topic",
      TOPIC.clickstream,
    );
    expect(reset.reduce((n, o) => n + o.lag, 0)).toBe(topic!.records);
  });

  test("a command that talks to Kafka writes no runtime warning (kafkajs' negative timer delay was one)", async () => {
    const out = await runCommand([process.execPath, "infra/tools/inspect/topics.ts", TOPIC.clickstream, "--json"]);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toHaveLength(1);
    expect(out.stderr).not.toContain("Warning");
  });
});

describe("bun run dlq", () => {
  test("list shows a dead letter with its source and reason; replay sends it to its topic, where it reaches the view", async () => {
    const dlq = deadLetterTopic(TOPIC.clickstream);
    const name = `${run}-replay`;
    await skipToEnd(config, name, [TOPIC.clickstream, TOPIC.identityChanges]);
    worker = await runWorker(profileWorker(config, { name }), config);
    // A record an earlier version refused, now acceptable: as the runner writes dead letters.
    const refused = event(900, { user_id: `${run}-replayed` });
    await writeDeadLetter(config, refused, { reason: `${run}: refused by an older contract`, partition: 0, offset: 0 });
    const listed = (await bun<DeadLetter[]>("infra/tools/inspect/dlq.ts", "list", dlq, "--limit", "100000")).filter(
      (d) => d.reason.startsWith(run),
    );
    expect(listed.length).toBe(1);
    expect(listed[0]).toMatchObject({
      source: { topic: TOPIC.clickstream, partition: 0, offset: "0" },
      worker: "profiles",
      key: refused.user_id,
    });

    const replayed = await bun<DeadLetter[]>(
      "infra/tools/inspect/dlq.ts",
      "replay",
      dlq,
      `${listed[0]!.partition}:${listed[0]!.offset}`,
    );
    expect(replayed.map((d) => d.offset)).toEqual([listed[0]!.offset]);
    const profile = await eventually(
      "the replayed event in its profile",
      async () =>
        (await redis.get(profileKey(refused.partner_id, refused.user_id, { partitions: config.TOPIC_PARTITIONS }))) ??
        undefined,
    );
    expect(JSON.parse(profile).profile).toMatchObject({ user_id: refused.user_id, events_total: 1 });

    const wrong = await runCommand(
      [process.execPath, "infra/tools/inspect/dlq.ts", "replay", dlq, "0:999999999"],
      {},
      60_000,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("not on");
  });
});
