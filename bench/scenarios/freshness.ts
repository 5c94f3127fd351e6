import type { Bench } from "../lib/context.ts";
import { runJson } from "../lib/harness.ts";
import { ms, type Summary } from "../lib/stats.ts";

export async function freshnessScenario(bench: Bench) {
  const { quick, config, env, api, partner, key, rows, report } = bench;
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
  bench.chart.push({ figure: `freshness 202 -> Redis (${rate}/s)`, latency: d, targetP95: 100 });
  report.freshness = { rate, seconds, ...result };
}
