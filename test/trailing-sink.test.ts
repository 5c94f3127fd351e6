import { afterAll, describe, expect, test } from "bun:test";
import { createOpenSearch, createRedis } from "../infra/platform/clients.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { profileKey, profilesIndex } from "../workers/profiles/view.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { groupIdOf, type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { tcpProxy } from "./fixtures/tcp-proxy.ts";
import {
  createTestTopic,
  deleteTopics,
  eventually,
  profileTestTopics,
  recordsIn,
  testConfig,
  unique,
} from "./helpers.ts";

/**
 * Search trails the store (per-sink offsets): with the search engine
 * unreachable (a proxy in front of the real OpenSearch, closed), profiles
 * keep arriving in Redis while the consumer offsets stay at what search
 * holds; a worker stopped then, and another started once search is back,
 * writes what search lacks from the stored states, and the offsets reach
 * the end.
 */
const config = testConfig();
const run = unique("trail");
const topics = profileTestTopics(run);
const { events: topic } = topics;
const prefix = `cdp-test-${run.toLowerCase()}-`;
const index = profilesIndex(prefix);
const partner = `${run}-p`;
const search = createOpenSearch(config);
const redis = createRedis(config);
const proxyPort = 19_700 + Math.floor(Math.random() * 190);
let workers: RunningWorker[] = [];

const proxy = tcpProxy(config.OPENSEARCH_URL, proxyPort);

afterAll(async () => {
  proxy.down();
  await Promise.all(workers.map((w) => w.stop()));
  await search.indices.delete({ index, ignore_unavailable: true });
  await search.close();
  redis.disconnect();
  await deleteTopics(config, Object.values(topics));
});

const start = () =>
  runWorker(
    profileWorker(
      { ...config, INDEX_PREFIX: prefix, OPENSEARCH_URL: `http://127.0.0.1:${proxyPort}` },
      { name: `${run}-profiles`, topics },
    ),
    config,
  );

async function produceUsers(from: number, to: number) {
  const producer = await createProducer(config);
  await producer.send(
    Array.from({ length: to - from }, (_, i) => {
      const user = `u${from + i}`;
      return {
        topic,
        key: user,
        value: {
          event_id: `${run}-${user}`,
          type: "page_view",
          user_id: user,
          partner_id: partner,
          occurred_at: new Date(Date.now() - 1000).toISOString(),
        },
      };
    }),
  );
  await producer.disconnect();
}

const indexed = async () => {
  await search.indices.refresh({ index });
  return (await search.count({ index })).body.count as number;
};
async function committed(): Promise<number> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: groupIdOf(config, `${run}-profiles`), topics: [topic] });
    return offsets!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}
const inRedis = async (users: number) =>
  (
    await redis.mget(...Array.from({ length: users }, (_, i) => profileKey(partner, `u${i}`, { partitions: 3 })))
  ).filter(Boolean).length;

describe("a trailing search sink", () => {
  test("search down: profiles still reach Redis, offsets wait for search, and search catches up after a restart", async () => {
    for (const t of Object.values(topics)) await createTestTopic(config, t, 3);
    proxy.up();
    workers.push(await start());
    await produceUsers(0, 20);
    await eventually("20 profiles indexed and the offsets at the end", async () => {
      return (await indexed()) === 20 && (await committed()) === (await recordsIn(config, topic));
    });

    proxy.down();
    await produceUsers(20, 50);
    await eventually("all 50 profiles in Redis while search is down", async () => (await inRedis(50)) === 50);
    expect(await indexed()).toBe(20);
    // The offsets stay where search is: a restart must give it the rest.
    await Bun.sleep(1000);
    expect(await committed()).toBeLessThan(await recordsIn(config, topic));
    expect(workers[0]!.stats.lastError).toContain(`opensearch:${index}`);

    // Stopped while search is still down (it gives up writing after a grace period), started again once it is back.
    await workers[0]!.stop();
    workers = [];
    proxy.up();
    workers.push(await start());
    await eventually(
      "search holds all 50 profiles and the offsets reach the end",
      async () => (await indexed()) === 50 && (await committed()) === (await recordsIn(config, topic)),
      60_000,
    );
    const { body } = await search.search({ index, body: { query: { term: { user_id: "u42" } } } });
    expect(body.hits.hits[0]?._source).toMatchObject({ user_id: "u42", events_total: 1, partner_id: partner });
    // Nothing was folded twice: the replayed records were applied before, only search lacked them.
    expect(workers[0]!.stats.records).toBe(0);
    expect(workers[0]!.stats.skipped).toBeGreaterThan(0);
  }, 120_000);
});
