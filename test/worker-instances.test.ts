import { afterAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { AssignerProtocol } from "kafkajs";
import { createRedis, createSql } from "../infra/platform/clients.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { socialGenerator } from "../infra/tools/datagen/social.ts";
import { ATTRIBUTION_TOPICS } from "../workers/attribution/worker.ts";
import { groupIdOf } from "../workers/runtime/runner.ts";
import { type UserInfoState, userInfoDocument, userInfoKey } from "../workers/userinfo/view.ts";
import { compareUntilEqual, prepareCommerceRun } from "./fixtures/commerce-run.ts";
import { differingProfiles, profileRun } from "./fixtures/profile-run.ts";
import { expectedDocuments } from "./fixtures/social-expected.ts";
import { eventually, ROOT, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * Worker groups across processes: the profile, attribution and user-info
 * workers run as separate processes sharing their consumer groups while
 * the three pipelines' records flow. Under that load a third process joins,
 * the first is stopped (SIGTERM) and the second SIGKILLed, each only once it
 * owns partitions and has committed on them; a fourth joins at the end. The
 * final views must equal what the test computes from the produced records:
 * no effect lost or applied twice across the handovers.
 */
const config = testConfig();
const sql = createSql(config, 4);
const WORKERS = ["profiles", "attribution", "attributed-checkouts", "social-edges", "userinfo"];
const processes: Subprocess[] = [];
afterAll(async () => {
  for (const p of processes) p.kill("SIGKILL");
  await sql.end();
});

let instance = 0;
function startInstance(): { process: Subprocess; clientId: string } {
  const clientId = `instances-${process.pid}-${++instance}`;
  const child = Bun.spawn([process.execPath, "workers/main.ts", ...WORKERS], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_CLIENT_ID: clientId,
      WORKER_STATUS_PORT: "0",
      WORKER_SESSION_TIMEOUT_MS: "6000",
      WORKER_MAX_BATCH: "500",
    },
    stdout: "ignore",
    stderr: "ignore",
  });
  processes.push(child);
  return { process: child, clientId };
}

/** The partitions of `topic` a member (by client id) holds in the profiles group, once the group is stable. */
async function ownedBy(clientId: string): Promise<number[]> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([groupIdOf(config, "profiles")])).groups;
    if (group?.state !== "Stable") return [];
    const member = group.members.find((m) => m.clientId === clientId);
    if (!member) return [];
    const { assignment } = AssignerProtocol.MemberAssignment.decode(member.memberAssignment) ?? { assignment: {} };
    return (assignment as Record<string, number[]>)[TOPIC.clickstream] ?? [];
  } finally {
    await admin.disconnect();
  }
}

/** Milliseconds until the profiles group is stable again with every partition held by members other than `clientId`. */
async function handover(clientId: string, since: number): Promise<number> {
  await eventually(
    `the partitions of ${clientId} to be handed over`,
    async () => {
      const admin = createKafka(config).admin();
      await admin.connect();
      try {
        const [group] = (await admin.describeGroups([groupIdOf(config, "profiles")])).groups;
        if (group?.state !== "Stable" || group.members.some((m) => m.clientId === clientId)) return false;
        const held = group.members.flatMap(
          (m) =>
            (
              (AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}) as Record<
                string,
                number[]
              >
            )[TOPIC.clickstream] ?? [],
        );
        return held.length === config.TOPIC_PARTITIONS;
      } finally {
        await admin.disconnect();
      }
    },
    60_000,
  );
  return Date.now() - since;
}

/** The profiles group's committed offsets on some clickstream partitions, summed. */
async function committedOn(partitions: number[]): Promise<number> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: groupIdOf(config, "profiles"), topics: [TOPIC.clickstream] });
    return offsets!.partitions
      .filter((p) => partitions.includes(p.partition))
      .reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

describe("worker groups across processes", () => {
  test("three processes under load, one joining, one stopped, one SIGKILLed: every view equals the records'", async () => {
    const run = unique("inst");

    // Profiles: 20,000 events of 1,000 users.
    const {
      partner,
      records: profileRecords,
      expected: expectedProfiles,
    } = profileRun(run, {
      events: 20_000,
      users: 1000,
    });
    // Attribution: the commerce funnel (co-partitioned clicks and checkouts).
    const commerce = await prepareCommerceRun(sql, {
      runId: run,
      checkouts: 4000,
      users: 500,
      partitions: config.TOPIC_PARTITIONS,
      start: Date.now() - 86_400_000,
    });
    // User info: social traffic folded by two stages.
    const social = socialGenerator({ users: 500, seed: 31, runId: run });
    const socialRecords = Array.from({ length: 12_000 }, () => social.next());
    const expectedUsers = expectedDocuments(socialRecords, run, 500);

    await skipToEnd(config, "profiles", [TOPIC.clickstream, TOPIC.identityChanges]);
    await skipToEnd(config, "attribution", [ATTRIBUTION_TOPICS.clicks, ATTRIBUTION_TOPICS.checkouts]);
    await skipToEnd(config, "attributed-checkouts", [ATTRIBUTION_TOPICS.attributed]);
    await skipToEnd(config, "social-edges", [TOPIC.tweets, TOPIC.follows, TOPIC.likes]);
    await skipToEnd(config, "userinfo", [TOPIC.usersChangelog, TOPIC.userinfoDeltas]);

    // Twenty slices, each a share of every pipeline's records, in their order.
    const SLICES = 20;
    const sliceOf = (records: OutRecord[], i: number) =>
      records.slice(Math.floor((records.length * i) / SLICES), Math.floor((records.length * (i + 1)) / SLICES));
    const producer = await createProducer(config);
    const send = (i: number) =>
      producer.send([
        ...sliceOf(profileRecords, i),
        ...sliceOf(commerce.records, i),
        ...sliceOf(socialRecords as OutRecord[], i),
      ]);
    /** Produce slices until the member owns partitions and has committed on them since; returns the next slice. */
    const produceUntilWorking = async (member: { clientId: string }, next: number) => {
      const owned = await eventually(`${member.clientId} to own partitions`, async () => {
        const partitions = await ownedBy(member.clientId);
        return partitions.length > 0 ? partitions : undefined;
      });
      const before = await committedOn(owned);
      await send(next++);
      await eventually(`${member.clientId} to commit`, async () => (await committedOn(owned)) > before);
      return next;
    };

    const first = startInstance();
    const second = startInstance();
    let slice = 0;
    while (slice < 4) await send(slice++);
    const third = startInstance();
    while (slice < 8) await send(slice++);
    slice = await produceUntilWorking(first, slice);
    const stoppedAt = Date.now();
    first.process.kill("SIGTERM");
    expect(await first.process.exited).toBe(0);
    const afterStop = await handover(first.clientId, stoppedAt);
    while (slice < 12) await send(slice++);
    slice = await produceUntilWorking(second, slice);
    const killedAt = Date.now();
    second.process.kill("SIGKILL");
    await second.process.exited;
    const afterKill = await handover(second.clientId, killedAt);
    while (slice < 16) await send(slice++);
    const fourth = startInstance();
    while (slice < SLICES) await send(slice++);
    await producer.disconnect();

    try {
      // Profiles.
      const redis = createRedis(config);
      await eventually(
        "the profiles to equal the records'",
        async () => (await differingProfiles(redis, partner, expectedProfiles, config.TOPIC_PARTITIONS)) === 0,
        180_000,
      );
      expect(expectedProfiles.size).toBe(1000);

      // Attributed checkouts.
      const attributed = await compareUntilEqual(sql, commerce, run, config.CLICK_LATENESS_MS);
      expect(attributed.actual).toBe(commerce.checkouts.length);
      expect(attributed.differing).toBe(0);

      // User-info documents.
      const ids = [...expectedUsers.keys()];
      expect(ids.length).toBeGreaterThan(0);
      const documents = async () =>
        (await redis.mget(ids.map((id) => userInfoKey(id, { partitions: config.TOPIC_PARTITIONS })))).map((raw) =>
          raw ? userInfoDocument(JSON.parse(raw) as UserInfoState) : null,
        );
      const want = ids.map((id) => expectedUsers.get(id) ?? null);
      await eventually(
        "the user-info documents to equal the records'",
        async () => JSON.stringify(await documents()) === JSON.stringify(want),
        180_000,
      );
      expect((await documents()) as unknown[]).toEqual(want);
      redis.disconnect();
      console.log(
        `worker instances: ${SLICES} slices; joined 1 under load, stopped 1 (partitions held by the others ${afterStop} ms after SIGTERM), SIGKILLed 1 (${afterKill} ms after, session timeout 6000 ms), joined 1 at the end; ${expectedProfiles.size} profiles, ${attributed.actual} attributed checkouts, ${ids.length} user-info documents: 0 differing`,
      );
    } finally {
      for (const member of [third, fourth]) member.process.kill("SIGTERM");
      expect(await third.process.exited).toBe(0);
      expect(await fourth.process.exited).toBe(0);
    }
  }, 420_000);
});
