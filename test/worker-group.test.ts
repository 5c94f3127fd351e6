import { afterAll, describe, expect, test } from "bun:test";
import { AssignerProtocol } from "kafkajs";
import { upsertUsers } from "../db/users.ts";
import { createSql } from "../infra/platform/clients.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { ATTRIBUTION_TOPICS, attributedCheckoutsWorker, attributionWorker } from "../workers/attribution/worker.ts";
import { startOutboxCapture } from "../workers/capture/outbox.ts";
import { groupIdOf, type Running, type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { compareUntilEqual, prepareCommerceRun } from "./fixtures/commerce-run.ts";
import { eventually, skipToEnd, tailTopic, testConfig, unique } from "./helpers.ts";

/**
 * More than one member at once: two live members of a co-partitioned
 * worker's group split the partition numbers between them (partition N of
 * both inputs to one member), fold exactly, and when one leaves the other
 * takes its partitions; two outbox captures at once publish each row once.
 */
const config = testConfig();
const sql = createSql(config, 4);
const running: Running[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await sql.end();
});

type Assigned = Record<string, number[]>;
async function assignments(groupId: string): Promise<Assigned[]> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group?.state !== "Stable") return [];
    return group.members.map(
      (m) => (AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}) as Assigned,
    );
  } finally {
    await admin.disconnect();
  }
}

describe("a worker group with two live members", () => {
  test("the co-partitioned assignor gives each member whole partition numbers; results are exact; a leaving member hands over", async () => {
    const runId = unique("group");
    const name = `${runId}-attribution`;
    const rows = `${runId}-rows`;
    const { clicks, checkouts } = ATTRIBUTION_TOPICS;
    await skipToEnd(config, name, [clicks, checkouts]);
    await skipToEnd(config, rows, [ATTRIBUTION_TOPICS.attributed]);
    const first = await runWorker(attributionWorker(config, { name }), config);
    const second: RunningWorker = await runWorker(attributionWorker(config, { name }), config);
    running.push(first, await runWorker(attributedCheckoutsWorker(config, { name: rows }), config));

    const members = await eventually(
      "both members to hold partitions",
      async () => {
        const now = await assignments(groupIdOf(config, name));
        return now.length === 2 && now.every((a) => (a[clicks]?.length ?? 0) > 0) ? now : undefined;
      },
      60_000,
    );
    for (const member of members)
      expect([...(member[clicks] ?? [])].sort()).toEqual([...(member[checkouts] ?? [])].sort());
    const all = members.flatMap((m) => m[clicks] ?? []).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: config.TOPIC_PARTITIONS }, (_, p) => p));

    const run = await prepareCommerceRun(sql, {
      runId,
      checkouts: 6000,
      users: 400,
      partitions: config.TOPIC_PARTITIONS,
      start: Date.now() - 86_400_000,
    });
    const half = Math.floor(run.records.length / 2);
    const producer = await createProducer(config);
    await producer.send(run.records.slice(0, half));
    await eventually(
      "both members to fold records",
      async () => first.stats.records > 0 && second.stats.records > 0,
      60_000,
    );
    await second.stop();
    await eventually(
      "the remaining member to hold every partition",
      async () => {
        const now = await assignments(groupIdOf(config, name));
        return (
          now.length === 1 &&
          now[0]![clicks]?.length === config.TOPIC_PARTITIONS &&
          now[0]![checkouts]?.length === config.TOPIC_PARTITIONS
        );
      },
      60_000,
    );
    await producer.send(run.records.slice(half));
    await producer.disconnect();

    const result = await compareUntilEqual(sql, run, runId, config.CLICK_LATENESS_MS);
    console.log(
      `worker group: ${members.length} members, then 1; ${result.actual} rows, ${result.differing} differing`,
    );
    expect(result.expected).toBe(run.checkouts.length);
    expect(result.differing).toBe(0);
  }, 180_000);
});

describe("two outbox captures at once", () => {
  test("each captured row is published once, in commit order", async () => {
    const tail = await tailTopic(config, TOPIC.usersCdc);
    running.push(
      await startOutboxCapture(config, { name: `${unique("capture")}-a` }),
      await startOutboxCapture(config, { name: `${unique("capture")}-b` }),
    );
    const run = unique("locked");
    const ids = Array.from({ length: 40 }, (_, i) => `${run}-u${i}`);
    for (let round = 0; round < 3; round++) {
      await upsertUsers(
        sql,
        ids.map((user_id) => ({ user_id, username: `v${round}`, region: `r${round}` })),
      );
    }
    const mine = () => tail.records.filter((r) => r.key?.startsWith(`${run}-`));
    await eventually("every version on users.cdc", async () => mine().length >= ids.length * 3, 30_000);
    await Bun.sleep(1000);
    await tail.stop();
    const versions = new Map<string, string[]>();
    for (const r of mine())
      versions.set(r.key!, [...(versions.get(r.key!) ?? []), (JSON.parse(r.value) as { username: string }).username]);
    expect(versions.size).toBe(ids.length);
    for (const id of ids) expect({ id, versions: versions.get(id) }).toEqual({ id, versions: ["v0", "v1", "v2"] });
  }, 60_000);
});
