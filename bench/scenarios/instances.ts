import { createProducer } from "../../infra/platform/kafka/producer.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { contentGenerator } from "../../infra/tools/datagen/content.ts";
import { groupIdOf } from "../../workers/runtime/runner.ts";
import type { Bench } from "../lib/context.ts";
import { spawnBun } from "../lib/harness.ts";

/**
 * Worker groups: the same backlog of content traffic folded by the enrich
 * stage run as 1, 2 and 3 processes (`bun run workers enrich --instances N`,
 * one consumer group). Each count gets a backlog of its own (new records
 * after the topics' ends), so no run skips what another applied.
 */
export async function instancesScenario(bench: Bench) {
  const { quick, config, env, rows, report } = bench;
  const { firstCommit, waitCaughtUp, setGroupOffsets, endOffsets } = bench.tools;
  const inputs = [TOPIC.beacons, TOPIC.interactions];
  const events = quick ? 60_000 : 200_000;
  const rates: Record<number, { records: number; seconds: number; recordsPerSecond: number }> = {};
  for (const instances of [1, 2, 3]) {
    const generator = contentGenerator({
      users: 20_000,
      contents: 2000,
      seed: 40 + instances,
      runId: `in${instances}${Date.now().toString(36)}`,
    });
    const start = Date.now() - 3_600_000;
    const records = Array.from({ length: events }, (_, i) => generator.next(start + i)).flatMap((item) =>
      item.kind === "record" ? [item.record] : [],
    );
    const from = await endOffsets([TOPIC.usersCdc, ...inputs]);
    const producer = await createProducer(config);
    for (let i = 0; i < records.length; i += 5000) await producer.send(records.slice(i, i + 5000));
    await producer.disconnect();

    await setGroupOffsets(groupIdOf(config, "enrich"), from);
    const group = spawnBun(["workers/main.ts", "enrich", "--instances", String(instances)], env);
    try {
      const before = await firstCommit("enrich", inputs);
      const started = performance.now();
      await waitCaughtUp(`enrich as ${instances} process(es)`, "enrich", [TOPIC.usersCdc, ...inputs]);
      const seconds = (performance.now() - started) / 1000;
      rates[instances] = { records: records.length, seconds, recordsPerSecond: (records.length - before) / seconds };
    } finally {
      await group.stop();
    }
  }
  const one = rates[1]!.recordsPerSecond;
  for (const instances of [1, 2, 3]) {
    const { records, seconds, recordsPerSecond } = rates[instances]!;
    rows.push({
      figure: `enrich as ${instances} process${instances > 1 ? "es" : ""} (--instances ${instances})`,
      value: `${recordsPerSecond.toFixed(0)} records/s (${records} records, ${seconds.toFixed(1)} s)`,
      baseline: `${one.toFixed(0)} (1 process, same run)`,
      ratio: `${(recordsPerSecond / one).toFixed(2)}x`,
    });
  }
  report.instances = rates;
}
