import { parseArgs } from "node:util";
import { type Config, configOrExit } from "../infra/platform/config.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { VIEWS, type WorkerName } from "../infra/platform/topology.ts";
import { WORKER_ENTRIES } from "./registry.ts";
import { groupIdOf, runWorker } from "./runtime/runner.ts";
import type { Worker } from "./runtime/worker.ts";

/**
 * The workers of the views the API reads (the topology's), in the order
 * `--all` rebuilds them. Each view is one worker's state (and search index),
 * folded from its topics; how far back a rebuild reaches is the topics'
 * retention (docs/operations.md: Rebuilding views).
 */
export const API_VIEWS: readonly WorkerName[] = Object.values(VIEWS).map((view) => view.worker);

export type Rebuilt = { view: string; records: number; seconds: number };

/**
 * Drop a worker's view (its store: documents, rows, applied offsets; its
 * sinks: the search index) and fold its input topics again from the
 * earliest record they hold, until it has caught up with where they ended
 * when the rebuild began. The worker must not be running meanwhile: its
 * consumer group is rewound, which the broker refuses while it has members.
 */
export async function rebuild<E, S>(
  config: Config,
  worker: Worker<E, S>,
  say: (line: string) => void = console.log,
): Promise<Rebuilt> {
  const started = performance.now();
  const groupId = groupIdOf(config, worker.name);
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group && group.members.length > 0)
      throw new Error(
        `${worker.name} is running (${group.members.length} member(s) in group ${groupId}); stop it first`,
      );

    await worker.store.reset();
    for (const sink of worker.sinks ?? []) await sink.reset?.();
    const targets = new Map<string, { partition: number; low: string; high: string }[]>();
    for (const topic of worker.inputs) {
      const offsets = await admin.fetchTopicOffsets(topic);
      targets.set(topic, offsets);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: offsets.map((p) => ({ partition: p.partition, offset: p.low })),
      });
    }
    const total = [...targets.values()].flat().reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    say(
      `${worker.name}: view dropped; folding ${worker.inputs.join(", ")} from their earliest records (${total} records)`,
    );
    if (total === 0) return { view: worker.name, records: 0, seconds: (performance.now() - started) / 1000 };

    const remaining = async () => {
      let left = 0;
      for (const [topic, offsets] of targets) {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        for (const t of offsets) {
          const at = BigInt(committed!.partitions.find((p) => p.partition === t.partition)?.offset ?? "-1");
          left += Math.max(0, Number(BigInt(t.high) - (at < BigInt(t.low) ? BigInt(t.low) : at)));
        }
      }
      return left;
    };
    const running = await runWorker(worker, config);
    let lastSaid = performance.now();
    try {
      for (;;) {
        const left = await remaining();
        if (left === 0) break;
        if (performance.now() - lastSaid > 5000) {
          say(`${worker.name}: ${total - left}/${total} records`);
          lastSaid = performance.now();
        }
        await Bun.sleep(250);
      }
    } finally {
      await running.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    say(`${worker.name}: rebuilt, ${running.stats.records} records folded in ${seconds.toFixed(1)} s`);
    return { view: worker.name, records: running.stats.records, seconds };
  } finally {
    await admin.disconnect();
  }
}

/** Rebuild a worker's view by its name in the registry. */
export function rebuildView(config: Config, name: string, say: (line: string) => void = console.log): Promise<Rebuilt> {
  const entry = WORKER_ENTRIES[name as WorkerName];
  if (!entry || !("create" in entry)) throw new Error(`no view named ${name}; views: ${foldNames().join(", ")}`);
  return rebuild(config, entry.create(config), say);
}

const foldNames = () => Object.entries(WORKER_ENTRIES).flatMap(([name, entry]) => ("create" in entry ? [name] : []));

if (import.meta.main) {
  const config = configOrExit();
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { all: { type: "boolean" }, json: { type: "boolean" } },
    allowPositionals: true,
  });
  const names = values.all ? [...API_VIEWS] : positionals;
  const unknown = names.filter((name) => !foldNames().includes(name));
  if (names.length === 0 || unknown.length > 0) {
    console.error(
      `usage: bun run rebuild <view>... | --all   (stop the views' workers first)\n` +
        `${unknown.length > 0 ? `unknown: ${unknown.join(", ")}\n` : ""}views: ${foldNames().join(", ")}\n--all: ${API_VIEWS.join(", ")} (what the API reads)`,
    );
    process.exit(2);
  }
  // --json: one JSON line for the bench instead of the narration.
  const say = values.json ? () => {} : console.log;
  const results: Rebuilt[] = [];
  for (const name of names) {
    try {
      results.push(await rebuildView(config, name, say));
    } catch (error) {
      console.error(`rebuild ${name} failed: ${(error as Error).message}`);
      process.exit(1);
    }
  }
  if (values.json) console.log(JSON.stringify(results.length === 1 ? results[0] : results));
  else if (results.length > 1)
    for (const r of results)
      console.log(
        `  ${r.view.padEnd(22)} ${String(r.records).padStart(9)} records  ${r.seconds.toFixed(1).padStart(7)} s`,
      );
  process.exit(0);
}
