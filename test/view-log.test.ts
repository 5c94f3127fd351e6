import { afterAll, describe, expect, test } from "bun:test";
import { createRedis, createSql } from "../infra/platform/clients.ts";
import type { Config } from "../infra/platform/config.ts";
import type { Checkout } from "../infra/platform/contracts/commerce.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic } from "../infra/platform/topology.ts";
import { attributedCheckoutsWorker, attributionWorker } from "../workers/attribution/worker.ts";
import { type ProfileState, profileKey } from "../workers/profiles/view.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { rebuild } from "../workers/rebuild.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { createTestTopic, deleteTopics, eventually, profileTestTopics, testConfig, unique } from "./helpers.ts";

/**
 * Views and their log stay in step (SPEC §3.2, §3.4): a log that is not the
 * one a view was folded from is never skipped silently, and a store that
 * lost its state is restored from the log, not trusted.
 */

const base = testConfig();
// A search index of its own: resetting a view drops its index.
const config: Config = { ...base, INDEX_PREFIX: `cdp-test-viewlog-` };
const sql = createSql(config, 2);
const redis = createRedis(config);
const topics: string[] = [];
const running: RunningWorker[] = [];
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop()));
  await deleteTopics(
    config,
    topics.flatMap((t) => [t, deadLetterTopic(t)]),
  );
  redis.disconnect();
  await sql.end();
});

async function newTopic(name: string) {
  await createTestTopic(config, name, 3);
  if (!topics.includes(name)) topics.push(name);
}

/** The broker loses the topic (a reset broker, a topic deleted and made again) and serves a new, empty one. */
async function recreate(name: string) {
  await deleteTopics(config, [name]);
  const admin = createKafka(config).admin();
  await admin.connect();
  await eventually(`${name} to be gone`, async () => !(await admin.listTopics()).includes(name), 30_000);
  await admin.disconnect();
  await newTopic(name);
}

async function produce(records: OutRecord[]) {
  const producer = await createProducer(config);
  for (let i = 0; i < records.length; i += 1000) await producer.send(records.slice(i, i + 1000));
  await producer.disconnect();
}

/** `count` events for users u0..u(users-1) of one partner; event ids from `first`; some purchases. */
function events(topic: string, run: string, first: number, count: number, users: number): OutRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = first + i;
    const user = `${run}-u${n % users}`;
    const purchase = n % 5 === 0;
    return {
      topic,
      key: user,
      value: {
        event_id: `${run}-e${n}`,
        type: purchase ? "purchase" : "page_view",
        user_id: user,
        partner_id: `${run}-p`,
        occurred_at: new Date(Date.now() - 60_000 + (n % 1000)).toISOString(),
        ...(purchase ? { cart_amount: (n % 50) + 0.5 } : {}),
      },
    };
  });
}

/** Each user's events and purchases, computed here from what was produced. */
function expectedProfiles(records: OutRecord[]): Map<string, { events: number; purchases: number }> {
  const expected = new Map<string, { events: number; purchases: number }>();
  for (const { value } of records) {
    const e = value as { user_id: string; cart_amount?: number };
    const p = expected.get(e.user_id) ?? { events: 0, purchases: 0 };
    expected.set(e.user_id, { events: p.events + 1, purchases: p.purchases + (e.cart_amount ?? 0) });
  }
  return expected;
}

/** The profiles in Redis of these users (null when absent), as {events, purchases}. */
async function profiles(run: string, users: string[]) {
  const docs = await redis.mget(users.map((user) => profileKey(`${run}-p`, user, { partitions: 3 })));
  return new Map(
    users.map((user, i) => {
      const doc = docs[i] ? (JSON.parse(docs[i]!) as ProfileState).profile : null;
      return [user, doc && { events: doc.events_total, purchases: Math.round(doc.total_purchases * 100) / 100 }];
    }),
  );
}

const rounded = (expected: Map<string, { events: number; purchases: number }>) =>
  new Map(
    [...expected].map(([user, p]) => [user, { events: p.events, purchases: Math.round(p.purchases * 100) / 100 }]),
  );

async function converge(
  run: string,
  expected: Map<string, { events: number; purchases: number }>,
  what: string,
  users = [...expected.keys()],
) {
  const want = rounded(expected);
  const wanted = new Map(users.map((u) => [u, want.get(u) ?? null]));
  await eventually(
    what,
    async () => JSON.stringify([...(await profiles(run, users))]) === JSON.stringify([...wanted]),
    90_000,
  ).catch(() => {});
  expect(await profiles(run, users)).toEqual(wanted);
}

/**
 * A profile worker on topics of its own that has folded `count` events of
 * `users` users: the worker (still running), the events, and how to make it again.
 */
async function foldedProfiles(prefix: string, cfg: Config, count: number, users: number) {
  const run = unique(prefix);
  const t = profileTestTopics(run);
  for (const topic of Object.values(t)) await newTopic(topic);
  const worker = () => profileWorker(cfg, { name: `${run}-profiles`, topics: t });
  const sent = events(t.events, run, 0, count, users);
  const w = await runWorker(worker(), cfg);
  await produce(sent);
  await converge(run, expectedProfiles(sent), "the first profiles");
  return { run, t, worker, sent, w };
}

describe("a log that is not the one the view was folded from", () => {
  test("a topic made again while the view kept its state: the worker stops, names the view and the command that heals it, and skips nothing", async () => {
    const folded = await foldedProfiles("reset-stop", config, 600, 20);
    const { run, t, worker } = folded;
    await folded.w.stop();

    // The broker loses the topic; the store keeps its state.
    await recreate(t.events);
    const fresh = events(t.events, run, 10_000, 300, 20);
    await produce(fresh);

    let halted = "";
    const first = await runWorker(worker(), config, { hooks: { onHalt: (message) => void (halted = message) } });
    await eventually("the worker to stop on the mismatch", async () => first.stats.state === "stopped", 60_000);
    expect(halted).toContain(`view ${run}-profiles`);
    expect(halted).toContain("topic incarnation");
    expect(halted).toContain(`bun run rebuild ${run}-profiles`);
    expect(first.stats).toMatchObject({ records: 0, skipped: 0 });
    expect(first.stats.lastError).toContain(halted);
    await first.stop();

    // The command it names: the view is the new log's, folded whole.
    const rebuilt = await rebuild(config, worker(), () => {});
    expect(rebuilt.records).toBe(fresh.length);
    await converge(run, expectedProfiles(fresh), "the new log's profiles");
  }, 240_000);

  test("with ON_LOG_MISMATCH=rebuild the worker drops the view and folds the new log by itself", async () => {
    const healing: Config = { ...config, ON_LOG_MISMATCH: "rebuild" };
    const { run, t, worker, sent: old, w: first } = await foldedProfiles("reset-heal", healing, 600, 30);
    await first.stop();

    await recreate(t.events);
    // Fewer users: those only in the old log must be gone from the view.
    const fresh = events(t.events, run, 10_000, 400, 10);
    await produce(fresh);
    const w = await runWorker(worker(), healing);
    running.push(w);
    await converge(run, expectedProfiles(fresh), "the new log's profiles", [...expectedProfiles(old).keys()]);
    expect(w.stats).toMatchObject({ rebuilds: 1, skipped: 0, state: "running" });
  }, 240_000);
});

describe("a store that lost its state is restored from the log", () => {
  test("Redis flushed under an idle worker, under a busy one, and while it is stopped: the profiles come back by themselves", async () => {
    const folded = await foldedProfiles("flush", config, 900, 30);
    const { run, t, worker, sent } = folded;
    let w = folded.w;

    // Redis restarts empty under the idle worker: its watch notices.
    await redis.flushdb();
    await converge(run, expectedProfiles(sent), "the profiles restored while idle");
    // And again while new events keep coming.
    await redis.flushdb();
    const more = events(t.events, run, 5000, 300, 30);
    sent.push(...more);
    await produce(more);
    await converge(run, expectedProfiles(sent), "the profiles restored while running");
    expect(w.stats.restores).toBeGreaterThan(0);
    expect(w.stats.unrestorable).toBe(0);
    await eventually("the worker to be running again", async () => w.stats.state === "running");
    const restoresWhileRunning = w.stats.restores;
    await w.stop();

    // And while it is stopped: its committed offsets name a store that no longer exists.
    await redis.flushdb();
    w = await runWorker(worker(), config);
    running.push(w);
    await converge(run, expectedProfiles(sent), "the profiles restored on start");
    expect(w.stats.restores).toBe(3);
    console.log(
      `view-log flush: ${sent.length} events, ${expectedProfiles(sent).size} profiles restored three times (${restoresWhileRunning} partition restores while running, ${w.stats.restores} on start), 0 differing`,
    );
  }, 240_000);

  test("attributed_checkouts truncated with its offsets: the rows come back by themselves", async () => {
    const run = unique("truncate");
    const t = {
      clicks: `test.${run}.clicks`,
      checkouts: `test.${run}.checkouts`,
      attributed: `test.${run}.attributed`,
    };
    for (const topic of Object.values(t)) await newTopic(topic);
    const rowsWorker = () => attributedCheckoutsWorker(config, { name: `${run}-rows`, topic: t.attributed });
    running.push(await runWorker(attributionWorker(config, { name: `${run}-attribution`, topics: t }), config));
    let rows = await runWorker(rowsWorker(), config);
    const checkouts: OutRecord[] = Array.from({ length: 200 }, (_, i) => ({
      topic: t.checkouts,
      key: `${run}-u${i % 17}`,
      value: {
        checkout_id: `${run}-k${i}`,
        user_id: `${run}-u${i % 17}`,
        product_id: `p${i % 3}`,
        total_amount: i + 1,
        occurred_at: new Date(Date.now() - 10_000).toISOString(),
      } satisfies Checkout,
    }));
    await produce(checkouts);
    const ids = checkouts.map((c) => (c.value as Checkout).checkout_id).sort();
    const stored = async () =>
      (
        await sql<
          { checkout_id: string }[]
        >`select checkout_id from attributed_checkouts where checkout_id like ${`${run}-%`} order by checkout_id`
      ).map((r) => r.checkout_id);
    await eventually("every row", async () => (await stored()).length === ids.length);
    await rows.stop();

    await sql`truncate attributed_checkouts`;
    await sql`delete from worker_offsets where worker = ${`${run}-rows`}`;
    expect(await stored()).toEqual([]);
    rows = await runWorker(rowsWorker(), config);
    running.push(rows);
    await eventually("the rows restored", async () => (await stored()).length === ids.length, 90_000).catch(() => {});
    expect(await stored()).toEqual(ids);
    expect(rows.stats.restores).toBeGreaterThan(0);

    // And a rebuild of the table gives the same rows.
    await rows.stop();
    running.splice(running.indexOf(rows), 1);
    const rebuilt = await rebuild(config, rowsWorker(), () => {});
    expect(rebuilt.records).toBe(ids.length);
    expect(await stored()).toEqual(ids);
  }, 240_000);
});
