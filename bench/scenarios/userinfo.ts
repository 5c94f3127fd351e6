import { createProducer } from "../../infra/platform/kafka/producer.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { groupIdOf } from "../../workers/runtime/runner.ts";
import { type Bench, line } from "../lib/context.ts";
import { runJson, spawnBun } from "../lib/harness.ts";
import { compareLookup } from "../lib/lookup-compare.ts";
import { foldedRecords, freePort, stageWatch } from "../lib/stages.ts";
import type { Summary } from "../lib/stats.ts";

/** 100K users on users.changelog, folded by both user-info stages (run as their own process). */
export async function userInfoScenarios(bench: Bench) {
  const { quick, config, env, rows, report, wanted, children } = bench;
  const { waitCaughtUp, setGroupOffsets, endOffsets, bareConsumerRate } = bench.tools;
  const users = 100_000;
  const rate = 10_000;
  const seconds = quick ? 10 : 30;
  const from = await endOffsets([TOPIC.usersChangelog]);
  await setGroupOffsets(groupIdOf(config, "userinfo"), from);
  const producer = await createProducer(config);
  const joined = new Date().toISOString();
  for (let i = 0; i < users; i += 5000) {
    await producer.send(
      Array.from({ length: Math.min(5000, users - i) }, (_, j) => {
        const id = `bu-${i + j}`;
        return {
          topic: TOPIC.usersChangelog,
          key: id,
          value: {
            user_id: id,
            username: `bench_${i + j}`,
            name: `Bench User ${i + j}`,
            joined_at: joined,
            bio: "benchmarks and coffee",
            location: "Lisbon",
          },
        };
      }),
    );
  }
  await producer.disconnect();
  const bare = await bareConsumerRate(env, from, users);

  const statusPort = freePort();
  const stages = spawnBun(["workers/main.ts", "social-edges", "userinfo"], {
    ...env,
    WORKER_STATUS_PORT: String(statusPort),
  });
  children.push(stages);
  // From its first folded chunk: its consumer offsets wait for search (a trailing sink), so a first commit comes late.
  const before = await foldedRecords(statusPort, "userinfo");
  const started = performance.now();
  const watch = await stageWatch(statusPort, "userinfo", stages.process.pid);
  // Lookups read Redis, which the store commit fills; search trails it (its own offsets).
  const inRedis = foldedRecords(statusPort, "userinfo", users).then(() => (performance.now() - started) / 1000);
  await waitCaughtUp("user-info catching up", "userinfo", [TOPIC.usersChangelog, TOPIC.userinfoDeltas]);
  const caughtUp = (performance.now() - started) / 1000;
  const spent = await watch.shares("userinfo");
  const throughput = (users - before) / caughtUp;
  const redisSeconds = await inRedis;
  const redisThroughput = (users - before) / redisSeconds;
  rows.push(
    {
      figure: "userinfo users.changelog/s -> Redis and search",
      value: `${throughput.toFixed(0)} (${users} records, ${caughtUp.toFixed(1)} s)`,
      baseline: `${bare.recordsPerSecond.toFixed(0)} (bare kafkajs consumer, same records)`,
      ratio: `${(throughput / bare.recordsPerSecond).toFixed(2)}x`,
    },
    {
      figure: "userinfo users.changelog/s -> Redis (search trailing)",
      value: `${redisThroughput.toFixed(0)} (${redisSeconds.toFixed(1)} s)`,
      baseline: `${bare.recordsPerSecond.toFixed(0)} (bare kafkajs consumer, same records)`,
      ratio: `${(redisThroughput / bare.recordsPerSecond).toFixed(2)}x`,
    },
    spent.row,
  );
  bench.chart.push({
    figure: "userinfo (users.changelog)",
    rate: throughput,
    baselineRate: bare.recordsPerSecond,
    baselineLabel: "a bare consumer",
    targetRatio: 0.25,
  });
  report.userInfoThroughput = {
    records: users,
    seconds: caughtUp,
    recordsPerSecond: throughput,
    inRedis: { seconds: redisSeconds, recordsPerSecond: redisThroughput },
    baseline: bare,
    stages: spent,
  };
  await waitCaughtUp("social edges caught up", "social-edges", [TOPIC.tweets, TOPIC.follows, TOPIC.likes]);

  if (wanted("users")) {
    report.userLookup = await compareLookup(bench, {
      figure: "user lookup",
      path: "/v1/users/",
      view: { name: "users" },
      idPrefix: "bu-",
      count: users,
      rate,
      seconds,
    });
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
    bench.chart.push({ figure: "user-info update (produce -> Redis)", latency: updates.delay, targetP95: 100 });
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
