import { createKafka } from "../../infra/platform/kafka/client.ts";
import { createProducer } from "../../infra/platform/kafka/producer.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { profileKey } from "../../workers/profiles/view.ts";
import { type Bench, type Load, line } from "../lib/context.ts";
import { benchEvents } from "../lib/events.ts";
import { runJson } from "../lib/harness.ts";

export async function lookupScenario(bench: Bench) {
  const { quick, config, env, api, partner, key, rows, report } = bench;
  const { waitCaughtUp } = bench.tools;
  const users = 100_000;
  const rate = 10_000;
  const seconds = quick ? 10 : 30;
  // 100K profiles of this partner: one event per user, straight to the topic.
  const seed = benchEvents(users, { runId: "lk", users, partner }).map((e, i) => ({
    ...e,
    user_id: `lk-${i}`,
    event_id: `lk-${i}-seed`,
  }));
  const producer = await createProducer(createKafka(config));
  for (let i = 0; i < seed.length; i += 5000)
    await producer.send(seed.slice(i, i + 5000).map((e) => ({ topic: TOPIC.clickstream, key: e.user_id, value: e })));
  await producer.disconnect();
  await waitCaughtUp("seeding 100K profiles");
  console.log(
    `lookup: GET /v1/profiles/:id at ${rate}/s for ${seconds}s over ${users} profiles, then raw Redis GET of the same keys`,
  );
  const common = ["--users", `lk-:${users}`, "--rate", String(rate), "--seconds", String(seconds)];
  const http = await runJson<Load>(
    ["bench/load.ts", "--target", "http", "--url", `${api}/v1/profiles/`, "--auth", key, ...common],
    env,
  );
  const redis = await runJson<Load>(
    [
      "bench/load.ts",
      "--target",
      "redis",
      "--url",
      config.REDIS_URL,
      "--key-prefix",
      profileKey(partner, ""),
      ...common,
    ],
    env,
  );
  rows.push({
    figure: `lookup ms @${rate}/s`,
    value: line(http),
    baseline: `Redis GET ${line(redis)}`,
    ratio: `p99 ${(http.latency.p99 / redis.latency.p99).toFixed(1)}x`,
  });
  report.lookup = { rate, seconds, users, http, redisBaseline: redis };
}
