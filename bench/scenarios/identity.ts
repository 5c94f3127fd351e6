import { clickstreamKey } from "../../infra/platform/contracts/clickstream.ts";
import { createProducer } from "../../infra/platform/kafka/producer.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { clickstreamGenerator } from "../../infra/tools/datagen/clickstream.ts";
import { groupIdOf } from "../../workers/runtime/runner.ts";
import { type Bench, line } from "../lib/context.ts";
import { runJson, spawnBun } from "../lib/harness.ts";
import type { Summary } from "../lib/stats.ts";

const WORKERS = ["profiles", "identities", "persons"] as const;

/**
 * Identity unification (SPEC §2.7): a backlog of datagen clickstream with
 * logins, second devices and shared devices, folded by the profile,
 * identity and person workers (one process) from the first commit until
 * all three caught up, beside a bare consumer of the same records; then the
 * merge latency, identify -> the merged profile readable by the anonymous id.
 */
export async function identityScenario(bench: Bench) {
  const { quick, config, env, rows, report, children } = bench;
  const { waitCaughtUp, setGroupOffsets, endOffsets, bareConsumerRate } = bench.tools;
  const events = quick ? 60_000 : 240_000;
  const inputs = {
    profiles: [TOPIC.clickstream, TOPIC.identityChanges],
    identities: [TOPIC.identityLinks],
    persons: [TOPIC.profilesMembers],
  };
  for (const worker of WORKERS) await setGroupOffsets(groupIdOf(config, worker), await endOffsets(inputs[worker]));
  const from = await endOffsets([TOPIC.clickstream]);
  const generator = clickstreamGenerator({ users: 20_000, partners: 1, seed: 27, runId: `bench-id-${Date.now()}` });
  const producer = await createProducer(config);
  let identifies = 0;
  for (let i = 0; i < events; i += 5000) {
    const slice = Array.from({ length: Math.min(5000, events - i) }, () => generator.next());
    identifies += slice.filter((e) => e.type === "identify").length;
    await producer.send(
      slice.map((value) => ({
        topic: TOPIC.clickstream,
        key: clickstreamKey(value),
        value: { ...value, partner_id: bench.partner },
      })),
    );
  }
  await producer.disconnect();
  const bare = await bareConsumerRate(env, from, events);

  const started = performance.now();
  const workers = spawnBun(["workers/main.ts", ...WORKERS], env);
  children.push(workers);
  for (const worker of WORKERS) await waitCaughtUp(`${worker} catching up`, worker, inputs[worker]);
  const seconds = (performance.now() - started) / 1000;
  const rate = events / seconds;
  rows.push(
    {
      figure: "clickstream with identities/s (3 workers)",
      value: `${rate.toFixed(0)} (${events} records, ${identifies} identify, ${seconds.toFixed(1)} s from start)`,
      baseline: `${bare.recordsPerSecond.toFixed(0)} (bare kafkajs consumer, same records)`,
      ratio: `${(rate / bare.recordsPerSecond).toFixed(2)}x`,
    },
    {
      figure: "identify events applied/s",
      value: `${(identifies / seconds).toFixed(0)} (to the graph and the persons)`,
      baseline: "-",
      ratio: "-",
    },
  );
  bench.chart.push({
    figure: "profiles + identities + persons",
    rate,
    baselineRate: bare.recordsPerSecond,
    baselineLabel: "a bare consumer",
  });
  report.identityThroughput = { records: events, identifies, seconds, recordsPerSecond: rate, baseline: bare };

  const probeSeconds = quick ? 10 : 30;
  console.log(
    `merge: a new visitor and user every 100 ms for ${probeSeconds}s; identify 202 -> merged profile readable by the anonymous id`,
  );
  const merges = await runJson<{ probes: number; missed: number; delay: Summary }>(
    [
      "bench/merge-latency.ts",
      "--api",
      bench.api,
      "--key",
      bench.key,
      "--partner",
      bench.partner,
      "--seconds",
      String(probeSeconds),
    ],
    env,
  );
  rows.push({
    figure: "merge ms (identify 202 -> merged profile)",
    value: line(merges),
    baseline: "target p95 <= 100, p99 <= 500 (SPEC §6 freshness)",
    ratio: `${merges.probes} probes, ${merges.missed} missed`,
  });
  bench.chart.push({ figure: "merge (identify -> merged profile)", latency: merges.delay, targetP95: 100 });
  report.identityMerges = merges;
  await workers.stop();
  children.splice(children.indexOf(workers), 1);
}
