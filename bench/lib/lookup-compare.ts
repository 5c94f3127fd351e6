import type { Bench, Load } from "./context.ts";
import { line } from "./context.ts";
import { runJson } from "./harness.ts";
import { waitMachineQuiet } from "./stages.ts";

const CONNECTIONS = 64;

/**
 * An API lookup against a raw Redis GET of the key it reads, with the same
 * tool and the same number of connections: at a fixed rate (latency from
 * each request's scheduled time), then saturated (closed loop: the most
 * requests per second each gives). Each run starts on a quiet machine, so
 * the background work of what came before (seeding the view) lands in
 * neither the figure nor its baseline.
 */
export async function compareLookup(
  bench: Bench,
  what: {
    figure: string;
    path: string;
    /** The view whose stored answers the Redis baseline GETs (`bench/load.ts --view`), and its partner. */
    view: { name: "profiles"; partner: string } | { name: "users" };
    /** Ids `<idPrefix>0` to `<idPrefix><count - 1>`, each looked up at random. */
    idPrefix: string;
    count: number;
    rate: number;
    seconds: number;
  },
) {
  const { env, api, key, config, rows } = bench;
  console.log(
    `${what.figure}: GET ${what.path}:id at ${what.rate}/s for ${what.seconds}s over ${what.count} ids, then saturated; raw Redis GET of the same keys`,
  );
  const users = `${what.idPrefix}:${what.count}`;
  const common = ["--users", users, "--connections", String(CONNECTIONS), "--seconds", String(what.seconds)];
  const http = ["bench/load.ts", "--target", "http", "--url", `${api}${what.path}`, "--auth", key, ...common];
  const redis = [
    "bench/load.ts",
    "--target",
    "redis",
    "--url",
    config.REDIS_URL,
    "--view",
    what.view.name,
    "--partner",
    what.view.name === "profiles" ? what.view.partner : "",
    "--partitions",
    String(config.TOPIC_PARTITIONS),
  ];
  const atRate = ["--rate", String(what.rate)];
  let quietSeconds = 0;
  const onQuietMachine = async (args: string[]) => {
    quietSeconds += await waitMachineQuiet();
    return runJson<Load>(args, env);
  };
  const result = {
    rate: what.rate,
    seconds: what.seconds,
    ids: what.count,
    connections: CONNECTIONS,
    http: await onQuietMachine([...http, ...atRate]),
    redisBaseline: await onQuietMachine([...redis, ...common, ...atRate]),
    httpSaturated: await onQuietMachine([...http, "--mode", "saturate"]),
    redisSaturated: await onQuietMachine([...redis, ...common, "--mode", "saturate"]),
  };
  console.log(`${what.figure}: ${quietSeconds.toFixed(1)} s waited in all for a quiet machine before the four runs`);
  bench.chart.push(
    {
      figure: `${what.figure} @${what.rate}/s`,
      latency: result.http.latency,
      baseline: result.redisBaseline.latency,
      baselineLabel: "Redis GET",
    },
    {
      figure: `${what.figure}, saturated`,
      rate: result.httpSaturated.achievedRate,
      baselineRate: result.redisSaturated.achievedRate,
      baselineLabel: "Redis GET",
      targetRatio: 0.5,
    },
  );
  rows.push(
    {
      figure: `${what.figure} ms @${what.rate}/s`,
      value: line(result.http),
      baseline: `Redis GET ${line(result.redisBaseline)}`,
      ratio: `p99 ${(result.http.latency.p99 / result.redisBaseline.latency.p99).toFixed(1)}x`,
    },
    {
      figure: `${what.figure} saturated req/s (${CONNECTIONS} conns)`,
      value: `${result.httpSaturated.achievedRate.toFixed(0)} (p99 ${result.httpSaturated.latency.p99.toFixed(2)} ms)`,
      baseline: `Redis GET ${result.redisSaturated.achievedRate.toFixed(0)} (p99 ${result.redisSaturated.latency.p99.toFixed(2)} ms)`,
      ratio: `${(result.httpSaturated.achievedRate / result.redisSaturated.achievedRate).toFixed(2)}x`,
    },
  );
  return result;
}
