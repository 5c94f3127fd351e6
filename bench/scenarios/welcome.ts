import { TOPIC } from "../../infra/platform/topology.ts";
import { groupIdOf } from "../../workers/runtime/runner.ts";
import { type Bench, line } from "../lib/context.ts";
import { runJson, spawnBun, waitHttp } from "../lib/harness.ts";
import type { Summary } from "../lib/stats.ts";

/**
 * Member welcome: signups inserted into Postgres at a fixed rate, commit ->
 * SMTP accepted, with the key service answering at once and then in 50 ms;
 * beside the same emails sent straight to the SMTP server at that rate.
 */
export async function welcomeScenarios(bench: Bench) {
  const { quick, config, env, rows, report, children } = bench;
  const { setGroupOffsets, endOffsets } = bench.tools;
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
  const stages = spawnBun(["workers/main.ts", "capture", "augmenter", "emailer"], {
    ...env,
    SUBSCRIBER_KEY_URL: keyUrl,
  });
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
  rows.push({
    figure: `signup -> email ms (${rate}/s)`,
    value: line(fast),
    baseline,
    ratio: `${fast.received}/${fast.sent} emailed; target p95 <= 1000`,
  });
  rows.push({
    figure: `signup -> email ms, key service 50 ms`,
    value: line(slow),
    baseline,
    ratio: `${slow.received}/${slow.sent} emailed; target p95 <= 1000`,
  });
  for (const [figure, latency] of [
    [`signup -> email (${rate}/s)`, fast],
    ["signup -> email, key service 50 ms", slow],
  ] as const)
    bench.chart.push({
      figure,
      latency: latency.delay,
      baseline: direct.delay,
      baselineLabel: "direct SMTP",
      targetP95: 1000,
    });
  report.welcome = { rate, seconds, direct, fast, slowKeyService: slow };
}
