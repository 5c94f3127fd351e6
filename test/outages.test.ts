import { afterAll, describe, expect, test } from "bun:test";
import { createApp } from "../api/app.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { createRedis, createSql } from "../infra/platform/clients.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { ATTRIBUTION_TOPICS } from "../workers/attribution/worker.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { compareUntilEqual, prepareCommerceRun } from "./fixtures/commerce-run.ts";
import { differingProfiles, profileRun } from "./fixtures/profile-run.ts";
import { tcpProxy, throughProxy } from "./fixtures/tcp-proxy.ts";
import {
  createTestTopic,
  deleteTopics,
  eventually,
  profileTestTopics,
  ROOT,
  skipToEnd,
  testConfig,
  unique,
} from "./helpers.ts";

/**
 * A store goes away mid-stream and comes back (a proxy in front of the real
 * server, closed and opened: every connection dropped, new ones refused).
 * The workers pause and retry and none loses its place, /readyz names what
 * is down, and once the store is back the views equal what the test
 * computes from the produced records. (Search going away is
 * test/trailing-sink.test.ts; the broker, test/ingest-api.test.ts.)
 */
const config = testConfig();
const sql = createSql(config, 2);
const proxies: ReturnType<typeof tcpProxy>[] = [];
const running: RunningWorker[] = [];
const topics: string[] = [];
afterAll(async () => {
  for (const proxy of proxies) proxy.up();
  await Promise.all(running.map((w) => w.stop()));
  for (const proxy of proxies) proxy.down();
  if (topics.length > 0) await deleteTopics(config, topics);
  await sql.end();
});

const proxyFor = (url: string) => {
  const proxy = tcpProxy(url, 19_500 + proxies.length * 7 + Math.floor(Math.random() * 7));
  proxies.push(proxy);
  proxy.up();
  return proxy;
};

/** Send records in `slices` slices, calling `between(i)` after slice i. */
async function produceInSlices(records: OutRecord[], slices: number, between: (i: number) => Promise<void>) {
  const producer = await createProducer(config);
  try {
    for (let i = 0; i < slices; i++) {
      await producer.send(
        records.slice(Math.floor((records.length * i) / slices), Math.floor((records.length * (i + 1)) / slices)),
      );
      await between(i);
    }
  } finally {
    await producer.disconnect();
  }
}

const OUTAGE_MS = 5000;

describe("a store goes away mid-stream", () => {
  test("Redis: the profile worker waits and retries, /readyz says Redis is down, and the profiles equal the records' once it is back", async () => {
    const run = unique("redis-out");
    const profileTopics = profileTestTopics(run);
    const topic = profileTopics.events;
    for (const t of Object.values(profileTopics)) await createTestTopic(config, t, 3);
    topics.push(...Object.values(profileTopics));
    const proxy = proxyFor(config.REDIS_URL);
    const proxied = { ...config, REDIS_URL: throughProxy(config.REDIS_URL, proxy.port) };
    const worker = await runWorker(profileWorker(proxied, { name: `${run}-profiles`, topics: profileTopics }), proxied);
    running.push(worker);
    const api = await connectApiDependencies(proxied);
    api.redis.on("error", () => {});
    const readiness = async () => {
      const response = await createApp(api).request("/readyz");
      const body = (await response.json()) as { checks: Record<string, { ok: boolean }> };
      return { status: response.status, redis: body.checks.redis?.ok };
    };

    const { partner, records, expected } = profileRun(run, { events: 6000, users: 300 });
    let backAt = 0;
    await produceInSlices(
      records.map((r) => ({ ...r, topic })),
      6,
      async (slice) => {
        if (slice !== 2) return;
        await eventually("some profiles folded before the outage", async () => worker.stats.records > 0);
        proxy.down();
        expect(await readiness()).toEqual({ status: 503, redis: false });
        await Bun.sleep(OUTAGE_MS);
        expect(worker.stats.state).toBe("running");
        proxy.up();
        backAt = Date.now();
      },
    );
    const redis = createRedis(config);
    try {
      await eventually(
        "the profiles to equal the records'",
        async () => (await differingProfiles(redis, partner, expected, 3)) === 0,
        120_000,
      );
      const recovered = Date.now() - backAt;
      expect(expected.size).toBe(300);
      expect(worker.stats.state).toBe("running");
      // (An error is not required: ioredis may hold the commands while offline and send them on reconnect.)
      expect(await readiness()).toEqual({ status: 200, redis: true });
      console.log(
        `Redis outage of ${OUTAGE_MS} ms: profiles exact ${recovered} ms after it came back (worker's last error: ${worker.stats.lastError?.slice(0, 120) ?? "none"})`,
      );
    } finally {
      redis.disconnect();
      await closeApiDependencies(api);
    }
  }, 180_000);

  test("Postgres: attribution waits and resumes (supervised: a crash is restarted), and attributed_checkouts equals the plain-SQL answer once it is back", async () => {
    const run = unique("pg-out");
    await skipToEnd(config, "attribution", [ATTRIBUTION_TOPICS.clicks, ATTRIBUTION_TOPICS.checkouts]);
    await skipToEnd(config, "attributed-checkouts", [ATTRIBUTION_TOPICS.attributed]);
    const proxy = proxyFor(config.DATABASE_URL);
    // As in production: two supervised processes (postgres.js can throw from a timer when a
    // connection drops mid-write, porsager/postgres#1066; the supervisor starts such a process again).
    const stages = Bun.spawn(
      [process.execPath, "workers/main.ts", "attribution", "attributed-checkouts", "--instances", "2"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: throughProxy(config.DATABASE_URL, proxy.port),
          WORKER_STATUS_PORT: "0",
          WORKER_SESSION_TIMEOUT_MS: "6000",
          WORKER_MAX_BATCH: "500",
          WORKER_FLUSH_TIMEOUT_MS: "15000",
        },
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    const stderr = new Response(stages.stderr).text();
    try {
      const commerce = await prepareCommerceRun(sql, {
        runId: run,
        checkouts: 3000,
        users: 300,
        partitions: config.TOPIC_PARTITIONS,
        start: Date.now() - 86_400_000,
      });
      const checkoutIds = commerce.checkouts.map((c) => c.checkout_id);
      const rowsSoFar = async () =>
        Number(
          (await sql`select count(*)::int as n from attributed_checkouts where checkout_id = any(${checkoutIds})`)[0]!
            .n,
        );
      let backAt = 0;
      await produceInSlices(commerce.records, 6, async (slice) => {
        if (slice !== 2) return;
        await eventually("some rows written before the outage", async () => (await rowsSoFar()) > 0, 60_000);
        proxy.down();
        await Bun.sleep(OUTAGE_MS);
        proxy.up();
        backAt = Date.now();
      });
      const result = await compareUntilEqual(sql, commerce, run, config.CLICK_LATENESS_MS);
      const recovered = Date.now() - backAt;
      if (result.differing > 0) {
        stages.kill("SIGTERM");
        await stages.exited;
        console.error(`the stages' log, to its last 60 lines:\n${(await stderr).split("\n").slice(-60).join("\n")}`);
      }
      expect(result.actual).toBe(commerce.checkouts.length);
      expect(result.differing).toBe(0);
      expect(stages.exitCode).toBeNull();
      stages.kill("SIGTERM");
      expect(await stages.exited).toBe(0);
      const restarts = ((await stderr).match(/starting it again/g) ?? []).length;
      console.log(
        `Postgres outage of ${OUTAGE_MS} ms: ${result.actual} rows exact ${recovered} ms after it came back; ${restarts} instance restart(s)`,
      );
    } finally {
      stages.kill("SIGKILL");
    }
  }, 240_000);
});
