import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApiKey } from "../api/http/keys.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { upsertUsers, writeUserVersions } from "../db/users.ts";
import { createSql } from "../infra/platform/clients.ts";
import { type Config, configOrExit } from "../infra/platform/config.ts";
import { applyTopics } from "../infra/platform/kafka/admin.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { commerceRun } from "../infra/tools/datagen/commerce.ts";
import { contentGenerator } from "../infra/tools/datagen/content.ts";
import { findJdk } from "../infra/tools/stack/java.ts";
import { kafkaJars } from "../infra/tools/stack/kafka.ts";
import { ensureDatabase } from "../infra/tools/stack/postgres.ts";
import { stackUp } from "../infra/tools/stack/stack.ts";
import { dropViews, keepGroupPositions } from "../infra/tools/views.ts";
import { profileKey } from "../workers/profiles/view.ts";
import { groupIdOf } from "../workers/runtime/runner.ts";
import { averageBytes, benchEvents } from "./events.ts";
import { benchConfig, benchEnv, type Child, ROOT, runJson, spawnBun, waitHttp } from "./harness.ts";
import { ms, type Summary } from "./stats.ts";

/**
 * `bun run bench [ingest] [freshness] [lookup] [users] [updates] [rebuild] [attribution] [welcome] [export] [personalization] [--quick]`: SPEC §6 figures,
 * each beside its baseline measured in the same run, printed as a table and
 * written to bench/results/<time>.json. Every load runs as its own process.
 */

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const chosen = args.filter((a) => !a.startsWith("--"));
const wanted = (name: string) => chosen.length === 0 || chosen.includes(name);
const base = configOrExit();
const env = benchEnv(base);
const config = benchConfig(env);
const api = `http://127.0.0.1:${config.PORT}`;
const partner = "bench-partner";
const rows: { figure: string; value: string; baseline: string; ratio: string }[] = [];
const report: Record<string, unknown> = {};

async function sizeOf(topic: string, groupId?: string): Promise<{ end: number; committed: number }> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const end = ends.reduce((n, p) => n + Number(p.high), 0);
    if (!groupId) return { end, committed: 0 };
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    return { end, committed };
  } finally {
    await admin.disconnect();
  }
}

/** Wait for a worker's first commit on its topics: catch-up is timed from there, as group joins are not folding. */
async function firstCommit(worker: string, topics: string[]): Promise<void> {
  const committed = async () => (await Promise.all(topics.map((t) => sizeOf(t, groupIdOf(config, worker))))).reduce((n, s) => n + s.committed, 0);
  const before = await committed();
  while ((await committed()) === before) await Bun.sleep(20);
}

/** Wait until a worker has committed everything on its topics; returns records folded per second. */
async function waitCaughtUp(label: string, worker = "profiles", topics = [TOPIC.clickstream]): Promise<number> {
  const group = groupIdOf(config, worker);
  const measure = async () => {
    const sizes = await Promise.all(topics.map((t) => sizeOf(t, group)));
    return { end: sizes.reduce((n, s) => n + s.end, 0), committed: sizes.reduce((n, s) => n + s.committed, 0) };
  };
  const first = await measure();
  const started = performance.now();
  let last = first;
  while (last.committed < last.end) {
    await Bun.sleep(1000);
    last = await measure();
    process.stdout.write(`\r  ${label}: ${last.end - last.committed} records behind   `);
  }
  process.stdout.write("\n");
  const seconds = (performance.now() - started) / 1000;
  return (last.committed - first.committed) / Math.max(seconds, 0.001);
}

async function ingestScenario(key: string) {
  const seconds = quick ? 8 : 20;
  const events = benchEvents(200_000, { runId: `in${Date.now().toString(36)}`, users: 100_000, partner });
  const bytes = averageBytes(events);
  const batches: unknown[][] = [];
  for (let i = 0; i < events.length; i += 100) batches.push(events.slice(i, i + 100));
  const file = join(tmpdir(), `cdp-bench-batches-${process.pid}.json`);
  await Bun.write(file, JSON.stringify(batches));
  console.log(`ingest: POST /v1/events, batches of 100 events of ~${bytes} bytes, 16 connections, ${seconds}s`);
  const result = await runJson<{ eventsPerSecond: number; accepted: number; rejected: number; requestLatency: Summary }>(
    ["bench/ingest-load.ts", "--url", `${api}/v1/events`, "--auth", key, "--batches", file, "--connections", "16", "--seconds", String(seconds)],
    env,
  );

  // Baseline: Kafka's own producer benchmark, same record size and acks, a topic like clickstream.events.
  const topic = "bench.producer-perf";
  const admin = createKafka(config).admin();
  await admin.connect();
  await applyTopics(admin, [{ name: topic, cleanup: "delete", retentionMs: 3_600_000, description: "bench baseline" }], {
    partitions: config.TOPIC_PARTITIONS,
    replication: 1,
  });
  await admin.disconnect();
  const records = quick ? 1_000_000 : 3_000_000;
  console.log(`baseline: kafka ProducerPerformance, ${records} records of ${bytes} bytes, acks=all`);
  const jdk = findJdk(17);
  const perf = Bun.spawn(
    [
      jdk.java,
      "-Xmx512m",
      "-cp",
      `${await kafkaJars(base)}/*`,
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      topic,
      "--num-records",
      String(records),
      "--record-size",
      String(bytes),
      "--throughput",
      "-1",
      "--producer-props",
      `bootstrap.servers=${config.KAFKA_BROKERS.join(",")}`,
      "acks=all",
      "enable.idempotence=true",
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(perf.stdout).text();
  await perf.exited;
  const summary = out.trim().split("\n").pop() ?? "";
  const perSecond = Number(summary.match(/([\d.]+) records\/sec/)?.[1] ?? NaN);
  const ratio = result.eventsPerSecond / perSecond;
  rows.push({
    figure: "ingest events/s (API, acks=all)",
    value: result.eventsPerSecond.toFixed(0),
    baseline: `${perSecond.toFixed(0)} (ProducerPerformance)`,
    ratio: `${ratio.toFixed(2)}x`,
  });
  report.ingest = {
    ...result,
    recordBytes: bytes,
    baseline: { tool: "org.apache.kafka.tools.ProducerPerformance", recordsPerSecond: perSecond, summary },
    ratio,
  };
}

async function freshnessScenario(key: string) {
  const rate = 5000;
  const seconds = quick ? 15 : 60;
  console.log(`freshness: ${rate} events/s through the API for ${seconds}s; 202 -> profile in Redis`);
  const result = await runJson<{ delay: Summary; probes: number; missed: number; failedEvents: number }>(
    [
      "bench/freshness-load.ts",
      "--url",
      `${api}/v1/events`,
      "--auth",
      key,
      "--partner",
      partner,
      "--redis",
      config.REDIS_URL,
      "--rate",
      String(rate),
      "--seconds",
      String(seconds),
    ],
    env,
  );
  const d = result.delay;
  rows.push({
    figure: `freshness 202 -> Redis ms (${rate}/s)`,
    value: `p50 ${ms(d.p50)} p95 ${ms(d.p95)} p99 ${ms(d.p99)} max ${ms(d.max)}`,
    baseline: "target p95 <= 100, p99 <= 500",
    ratio: `${result.probes} probes, ${result.missed} missed`,
  });
  report.freshness = { rate, seconds, ...result };
}

async function lookupScenario(key: string) {
  const users = 100_000;
  const rate = 10_000;
  const seconds = quick ? 10 : 30;
  // 100K profiles of this partner: one event per user, straight to the topic.
  const seed = benchEvents(users, { runId: "lk", users, partner }).map((e, i) => ({ ...e, user_id: `lk-${i}`, event_id: `lk-${i}-seed` }));
  const producer = await createProducer(createKafka(config));
  for (let i = 0; i < seed.length; i += 5000) await producer.send(seed.slice(i, i + 5000).map((e) => ({ topic: TOPIC.clickstream, key: e.user_id, value: e })));
  await producer.disconnect();
  await waitCaughtUp("seeding 100K profiles");
  console.log(`lookup: GET /v1/profiles/:id at ${rate}/s for ${seconds}s over ${users} profiles, then raw Redis GET of the same keys`);
  const common = ["--users", `lk-:${users}`, "--rate", String(rate), "--seconds", String(seconds)];
  const http = await runJson<Load>(["bench/load.ts", "--target", "http", "--url", `${api}/v1/profiles/`, "--auth", key, ...common], env);
  const redis = await runJson<Load>(["bench/load.ts", "--target", "redis", "--url", config.REDIS_URL, "--key-prefix", profileKey(partner, ""), ...common], env);
  rows.push({
    figure: `lookup ms @${rate}/s`,
    value: line(http),
    baseline: `Redis GET ${line(redis)}`,
    ratio: `p99 ${(http.latency.p99 / redis.latency.p99).toFixed(1)}x`,
  });
  report.lookup = { rate, seconds, users, http, redisBaseline: redis };
}

type Load = { achievedRate: number; errors: number; sent: number; latency: Summary };
const line = (l: Load | { delay: Summary }) => {
  const s = "latency" in l ? l.latency : l.delay;
  return `p50 ${ms(s.p50)} p95 ${ms(s.p95)} p99 ${ms(s.p99)} max ${ms(s.max)}${"latency" in l ? ` (${l.achievedRate.toFixed(0)}/s, ${l.errors} err)` : ""}`;
};

/** 100K users on users.changelog, folded by both user-info stages (run as their own process). */
async function userInfoScenarios(key: string, children: Child[]) {
  const users = 100_000;
  const rate = 10_000;
  const seconds = quick ? 10 : 30;
  const producer = await createProducer(createKafka(config));
  const joined = new Date().toISOString();
  for (let i = 0; i < users; i += 5000) {
    await producer.send(
      Array.from({ length: Math.min(5000, users - i) }, (_, j) => {
        const id = `bu-${i + j}`;
        return {
          topic: TOPIC.usersChangelog,
          key: id,
          value: { user_id: id, username: `bench_${i + j}`, name: `Bench User ${i + j}`, joined_at: joined, bio: "benchmarks and coffee", location: "Lisbon" },
        };
      }),
    );
  }
  await producer.disconnect();
  const stages = spawnBun(["workers/main.ts", "social-edges", "userinfo"], env);
  children.push(stages);
  // Stage 1 first (its output feeds stage 2), so no backlog competes with the measurements.
  await waitCaughtUp("social edges catching up", "social-edges", [TOPIC.tweets, TOPIC.follows, TOPIC.likes]);
  await waitCaughtUp("user-info catching up", "userinfo", [TOPIC.usersChangelog, TOPIC.userinfoDeltas]);

  if (wanted("users")) {
    console.log(`users: GET /v1/users/:id at ${rate}/s for ${seconds}s over ${users} users, then raw Redis GET of the same keys`);
    const common = ["--users", `bu-:${users}`, "--rate", String(rate), "--seconds", String(seconds)];
    const http = await runJson<Load>(["bench/load.ts", "--target", "http", "--url", `${api}/v1/users/`, "--auth", key, ...common], env);
    const redis = await runJson<Load>(["bench/load.ts", "--target", "redis", "--url", config.REDIS_URL, "--key-prefix", "userinfo:", ...common], env);
    rows.push({
      figure: `user lookup ms @${rate}/s`,
      value: line(http),
      baseline: `Redis GET ${line(redis)}`,
      ratio: `p99 ${(http.latency.p99 / redis.latency.p99).toFixed(1)}x`,
    });
    report.userLookup = { rate, seconds, users, http, redisBaseline: redis };
  }
  if (wanted("updates")) {
    console.log(`updates: a new follow every 50 ms for ${seconds}s; produce ack -> followee's count readable in Redis`);
    const updates = await runJson<{ probes: number; missed: number; delay: Summary }>(
      ["bench/update-latency.ts", "--users", `bu-:${users}`, "--seconds", String(seconds)],
      env,
    );
    rows.push({
      figure: "user-info update ms (produce -> Redis)",
      value: line(updates),
      baseline: "target p95 <= 100, p99 <= 500",
      ratio: `${updates.probes} probes, ${updates.missed} missed`,
    });
    report.userInfoUpdates = updates;
  }
  if (wanted("rebuild")) {
    await stages.stop();
    children.splice(children.indexOf(stages), 1);
    const started = performance.now();
    const out = await runJson<{ seconds: number; records: number }>(["workers/rebuild.ts", "userinfo", "--json"], env);
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      figure: "rebuild userinfo (>= 100K users)",
      value: `${seconds.toFixed(1)} s, ${out.records} records`,
      baseline: "-",
      ratio: `${(out.records / out.seconds).toFixed(0)} records/s`,
    });
    report.userInfoRebuild = { ...out, wallSeconds: seconds };
  }
}

/** Move a consumer group to given offsets (per topic, per partition). */
async function setGroupOffsets(groupId: string, offsets: Map<string, { partition: number; offset: string }[]>): Promise<void> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    for (const [topic, partitions] of offsets) await admin.setOffsets({ groupId, topic, partitions });
  } finally {
    await admin.disconnect();
  }
}

async function endOffsets(topics: string[]): Promise<Map<string, { partition: number; offset: string }[]>> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const ends = new Map<string, { partition: number; offset: string }[]>();
    for (const topic of topics)
      ends.set(
        topic,
        (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })),
      );
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Checkout attribution: a backlog of the commerce funnel folded by both
 * stages into Postgres (beside a bare consumer reading the same records),
 * then checkout -> row latency with the funnel running at a fixed rate.
 */
async function attributionScenarios(children: Child[]) {
  const inputs = [TOPIC.clicks, TOPIC.checkouts];
  const checkouts = quick ? 20_000 : 100_000;
  const { records, versions } = commerceRun({
    users: 20_000,
    products: 2000,
    seed: 5,
    runId: `ab${Date.now().toString(36)}`,
    start: Date.now() - 86_400_000,
    sessionsPerSecond: 40,
    checkouts,
  });
  const made = records.filter((r) => r.topic === TOPIC.checkouts).length;
  const sql = createSql(config, 2);
  await writeUserVersions(sql, versions);
  await sql.end();
  const start = await endOffsets(inputs);
  const producer = await createProducer(createKafka(config));
  for (let i = 0; i < records.length; i += 5000) await producer.send(records.slice(i, i + 5000));
  await producer.disconnect();

  // Baseline: the same records read by a bare kafkajs consumer (no decode, no state, no sink).
  await setGroupOffsets(groupIdOf(config, "consume-baseline"), start);
  const bare = await runJson<{ records: number; seconds: number }>(
    ["bench/consume-baseline.ts", "--group", "consume-baseline", "--topics", inputs.join(","), "--records", String(records.length)],
    env,
  );

  await setGroupOffsets(groupIdOf(config, "attribution"), start);
  await setGroupOffsets(groupIdOf(config, "attributed-checkouts"), await endOffsets([TOPIC.attributed]));
  const stages = spawnBun(["workers/main.ts", "attribution", "attributed-checkouts"], env);
  children.push(stages);
  await firstCommit("attribution", inputs);
  const started = performance.now();
  await waitCaughtUp("attribution catching up", "attribution", inputs);
  await waitCaughtUp("rows catching up", "attributed-checkouts", [TOPIC.attributed]);
  const seconds = (performance.now() - started) / 1000;
  const throughput = records.length / seconds;
  const bareRate = bare.records / bare.seconds;
  rows.push({
    figure: "attribution clicks+checkouts/s -> Postgres",
    value: `${throughput.toFixed(0)} (${records.length} records, ${made} checkouts, ${seconds.toFixed(1)} s)`,
    baseline: `${bareRate.toFixed(0)} (bare kafkajs consumer, same records)`,
    ratio: `${(throughput / bareRate).toFixed(2)}x`,
  });
  report.attributionThroughput = {
    records: records.length,
    checkouts: made,
    seconds,
    recordsPerSecond: throughput,
    baseline: { ...bare, recordsPerSecond: bareRate },
  };

  const rate = 2000;
  const latencySeconds = quick ? 15 : 30;
  console.log(
    `attribution latency: funnel at ${rate} records/s, a probe click + checkout every 50 ms for ${latencySeconds}s; checkout ack -> attributed row in Postgres`,
  );
  const latency = await runJson<{ probes: number; missed: number; backgroundRecordsPerSecond: number; delay: Summary }>(
    ["bench/attribution-latency.ts", "--rate", String(rate), "--seconds", String(latencySeconds)],
    env,
  );
  rows.push({
    figure: `checkout -> row ms (${rate} records/s)`,
    value: line(latency),
    baseline: "freshness target p95 <= 100, p99 <= 500",
    ratio: `${latency.probes} probes, ${latency.missed} missed`,
  });
  report.attributionLatency = { rate, seconds: latencySeconds, ...latency };
}

/**
 * Member welcome: signups inserted into Postgres at a fixed rate, commit ->
 * SMTP accepted, with the key service answering at once and then in 50 ms;
 * beside the same emails sent straight to the SMTP server at that rate.
 */
async function welcomeScenarios(children: Child[]) {
  const rate = 200;
  const seconds = quick ? 15 : 60;
  const keyPort = "18290";
  const keyService = spawnBun(["infra/tools/keyservice/cli.ts", "--port", keyPort], env, "pipe");
  children.push(keyService);
  const keyUrl = `http://127.0.0.1:${keyPort}`;
  await waitHttp(`${keyUrl}/control`);
  // Start both groups at the topics' ends: history is not this run's. The
  // direct baseline runs first, so the stages have joined their groups by the time signups start.
  await setGroupOffsets(groupIdOf(config, "augmenter"), await endOffsets([TOPIC.membersNew]));
  await setGroupOffsets(groupIdOf(config, "emailer"), await endOffsets([TOPIC.membersAugmented]));
  const stages = spawnBun(["workers/main.ts", "capture", "augmenter", "emailer"], { ...env, SUBSCRIBER_KEY_URL: keyUrl });
  children.push(stages);
  type Latency = { sent: number; received: number; missed: number; delay: Summary };
  const args = ["bench/welcome-latency.ts", "--rate", String(rate), "--seconds", String(seconds)];
  console.log(`welcome: direct SMTP sends at ${rate}/s for ${seconds}s (baseline)`);
  const direct = await runJson<Latency>([...args, "--direct"], env);
  console.log(`welcome: ${rate} signups/s for ${seconds}s, commit -> SMTP accepted`);
  const fast = await runJson<Latency>(args, env);
  await fetch(`${keyUrl}/control`, { method: "POST", body: JSON.stringify({ delayMs: 50 }) });
  console.log(`welcome: the same with the key service answering in 50 ms`);
  const slow = await runJson<Latency>(args, env);
  const baseline = `direct SMTP ${line(direct)}`;
  rows.push({ figure: `signup -> email ms (${rate}/s)`, value: line(fast), baseline, ratio: `${fast.received}/${fast.sent} emailed; target p95 <= 1000` });
  rows.push({
    figure: `signup -> email ms, key service 50 ms`,
    value: line(slow),
    baseline,
    ratio: `${slow.received}/${slow.sent} emailed; target p95 <= 1000`,
  });
  report.welcome = { rate, seconds, direct, fast, slowKeyService: slow };
}

/**
 * Real-time personalization: a backlog of content traffic joined with the
 * users table by the enrich stage (beside a bare consumer reading the same
 * records), then event -> window result with 1-second windows while traffic
 * flows at a fixed rate.
 */
async function personalizationScenarios() {
  const stages: Child[] = [];
  try {
    const events = quick ? 60_000 : 300_000;
    const generator = contentGenerator({ users: 20_000, contents: 2000, seed: 17, runId: `pb${Date.now().toString(36)}` });
    const start = Date.now() - 3_600_000;
    const records = Array.from({ length: events }, (_, i) => generator.next(start + i)).flatMap((item) => (item.kind === "record" ? [item.record] : []));
    const inputs = [TOPIC.beacons, TOPIC.interactions];
    const from = await endOffsets([TOPIC.usersCdc, ...inputs]);
    const users = generator.initialUsers();
    const sql = createSql(config, 2);
    await upsertUsers(sql, users);
    await sql.end();
    const producer = await createProducer(createKafka(config));
    for (let i = 0; i < records.length; i += 5000) await producer.send(records.slice(i, i + 5000));
    await producer.disconnect();

    await setGroupOffsets(groupIdOf(config, "consume-baseline"), new Map(inputs.map((t) => [t, from.get(t)!])));
    const bare = await runJson<{ records: number; seconds: number }>(
      ["bench/consume-baseline.ts", "--group", "consume-baseline", "--topics", inputs.join(","), "--records", String(records.length)],
      env,
    );

    await setGroupOffsets(groupIdOf(config, "enrich"), from);
    const enrich = spawnBun(["workers/main.ts", "capture", "enrich"], env);
    stages.push(enrich);
    const topics = [TOPIC.usersCdc, ...inputs];
    await firstCommit("enrich", topics);
    const started = performance.now();
    await waitCaughtUp("enrich catching up", "enrich", topics);
    const seconds = (performance.now() - started) / 1000;
    const rate = records.length / seconds;
    const bareRate = bare.records / bare.seconds;
    rows.push({
      figure: "enrich beacons+interactions/s (join)",
      value: `${rate.toFixed(0)} (${records.length} records, ${seconds.toFixed(1)} s)`,
      baseline: `${bareRate.toFixed(0)} (bare kafkajs consumer, same records)`,
      ratio: `${(rate / bareRate).toFixed(2)}x`,
    });
    report.enrichThroughput = {
      records: records.length,
      users: users.length,
      seconds,
      recordsPerSecond: rate,
      baseline: { ...bare, recordsPerSecond: bareRate },
    };

    // The windowed stages start at the ends: the backlog's event times are an hour old.
    const windowed = { ...env, CONTENT_WINDOW_MS: "1000", CONTENT_GRACE_MS: "2000" };
    await setGroupOffsets(groupIdOf(config, "user-activity"), await endOffsets([TOPIC.interactionsEnriched]));
    await setGroupOffsets(groupIdOf(config, "popular-content"), await endOffsets([TOPIC.opens]));
    await setGroupOffsets(groupIdOf(config, "content-views"), await endOffsets([TOPIC.userActivity, TOPIC.popular]));
    stages.push(spawnBun(["workers/main.ts", "user-activity", "popular-content", "content-views"], windowed));
    const trafficRate = 2000;
    const latencySeconds = quick ? 15 : 30;
    console.log(
      `personalization latency: content traffic at ${trafficRate} records/s, 1 s windows, a probe open every 50 ms for ${latencySeconds}s; open -> the user's window readable in Redis`,
    );
    type Latency = { probes: number; missed: number; delay: Summary; afterWindowEnd: Summary; backgroundRecordsPerSecond: number };
    const latency = await runJson<Latency>(["bench/personalization-latency.ts", "--rate", String(trafficRate), "--seconds", String(latencySeconds)], windowed);
    rows.push({
      figure: `open -> window result ms (1 s windows)`,
      value: line(latency),
      baseline: "includes the wait for the window to end (0-1 s)",
      ratio: `${latency.probes} probes, ${latency.missed} missed`,
    });
    rows.push({
      figure: `window end -> result readable ms`,
      value: line({ delay: latency.afterWindowEnd }),
      baseline: "freshness target p95 <= 100, p99 <= 500",
      ratio: `at ${trafficRate} records/s`,
    });
    report.personalizationLatency = { rate: trafficRate, seconds: latencySeconds, ...latency };
  } finally {
    await Promise.all(stages.map((c) => c.stop()));
  }
}

/** Warehouse export: 1M click events from a topic of their own, beside a raw COPY of the same rows from a file. */
async function exportScenario() {
  const events = quick ? 200_000 : 1_000_000;
  const topic = `bench.export-${Date.now().toString(36)}`;
  const admin = createKafka(config).admin();
  await admin.connect();
  await applyTopics(admin, [{ name: topic, cleanup: "delete", retentionMs: 3_600_000, description: "bench export source" }], {
    partitions: config.TOPIC_PARTITIONS,
    replication: 1,
  });
  const producer = await createProducer(createKafka(config));
  const now = Date.now();
  for (let i = 0; i < events; i += 10_000) {
    await producer.send(
      Array.from({ length: Math.min(10_000, events - i) }, (_, j) => {
        const n = i + j;
        const user = `bx-${n % 50_000}`;
        const value = {
          click_id: `bx-${n}`,
          user_id: user,
          product_id: `p${n % 2000}`,
          occurred_at: new Date(now - (n % 172_800) * 1000).toISOString(),
          product: `Product ${n % 2000}`,
          price: (n % 10_000) / 100,
          url: `https://shop.example.com/p/${n % 2000}`,
          user_agent: "Mozilla/5.0 (X11; Linux x86_64)",
          ip_address: "10.0.0.1",
        };
        return { topic, key: user, value };
      }),
    );
  }
  await producer.disconnect();
  console.log(`export: ${events} click events on ${topic} -> warehouse, then COPY of the same rows from a file`);
  const file = join(tmpdir(), `cdp-bench-export-${process.pid}.csv`);
  try {
    const out = await runJson<{ rows: number; exportSeconds: number; copyRows: number; copySeconds: number }>(
      ["bench/export-run.ts", "--topic", topic, "--file", file],
      env,
    );
    const exportRate = out.rows / out.exportSeconds;
    const copyRate = out.copyRows / out.copySeconds;
    rows.push({
      figure: "warehouse load rows/s (export)",
      value: `${exportRate.toFixed(0)} (${out.rows} rows, ${out.exportSeconds.toFixed(1)} s)`,
      baseline: `${copyRate.toFixed(0)} (COPY from a file, ${out.copyRows} rows, ${out.copySeconds.toFixed(1)} s)`,
      ratio: `${(exportRate / copyRate).toFixed(2)}x (target >= 0.5x)`,
    });
    report.warehouseExport = { events, ...out, exportRowsPerSecond: exportRate, copyRowsPerSecond: copyRate };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    await Bun.file(file)
      .delete()
      .catch(() => {});
  }
}

async function main(config: Config) {
  await stackUp(base, () => {});
  await ensureDatabase(config.DATABASE_URL);
  await migrateDatabase(config.DATABASE_URL);
  await dropViews(config);
  // The bench's groups go on from where they were, with empty views (not restored from the topics' history).
  await keepGroupPositions(config);
  const sql = createSql(config, 1);
  const { key } = await createApiKey(drizzle(sql), partner, ["admin"]);
  await sql.end();

  const children: Child[] = [];
  const stopAll = () => Promise.all(children.map((c) => c.stop()));
  try {
    children.push(spawnBun(["api/server.ts"], env));
    await waitHttp(`${api}/healthz`);
    if (wanted("ingest")) await ingestScenario(key);
    if (wanted("freshness") || wanted("lookup")) {
      children.push(spawnBun(["workers/main.ts", "profiles"], env));
      const foldRate = await waitCaughtUp("profile worker catching up");
      report.workerCatchUpEventsPerSecond = foldRate;
      if (foldRate > 0) rows.push({ figure: "profile worker catch-up events/s", value: foldRate.toFixed(0), baseline: "-", ratio: "-" });
      if (wanted("freshness")) await freshnessScenario(key);
      if (wanted("lookup")) await lookupScenario(key);
    }
    if (wanted("users") || wanted("updates") || wanted("rebuild")) await userInfoScenarios(key, children);
    if (wanted("attribution")) await attributionScenarios(children);
    if (wanted("welcome")) await welcomeScenarios(children);
    if (wanted("export")) await exportScenario();
    if (wanted("personalization")) await personalizationScenarios();
  } finally {
    await stopAll();
  }

  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30), bun: Bun.version };
  const at = new Date().toISOString();
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  const file = join(ROOT, "bench", "results", `${at.replaceAll(":", "-")}.json`);
  writeFileSync(file, JSON.stringify({ at, machine, quick, ...report }, null, 2));

  const widths = [38, 52, 60];
  console.log(`\n${machine.cores} cores, ${machine.cpu}, ${machine.memoryGiB} GiB, Bun ${machine.bun}${quick ? " (quick run)" : ""}`);
  console.log(["figure".padEnd(widths[0]!), "value".padEnd(widths[1]!), "baseline (same run)".padEnd(widths[2]!), "ratio"].join(" | "));
  for (const r of rows) console.log([r.figure.padEnd(widths[0]!), r.value.padEnd(widths[1]!), r.baseline.padEnd(widths[2]!), r.ratio].join(" | "));
  console.log(`\nreport: ${file}`);
}

await main(config);
process.exit(0);
