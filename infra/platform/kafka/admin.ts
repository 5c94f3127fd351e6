import { type Admin, ConfigResourceTypes } from "kafkajs";
import type { TopicSpec } from "../topology.ts";

/** `replication` 0: follow the cluster's size (replicationFor). */
export type TopicDefaults = { partitions: number; replication: number };

export type TopicsApplied = {
  created: string[];
  reconfigured: string[];
  /** Existing topics whose partition count differs from the declaration. */
  partitionDrift: { name: string; declared: number; actual: number }[];
};

/**
 * A new topic's leaders can take a moment to be known everywhere, most of all
 * on a broker that has just started: until its offsets can be listed, a
 * client may be told "not the leader" or "does not host this partition".
 */
async function waitUntilServed(admin: Admin, topics: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const topic of topics) {
    for (;;) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.length > 0) break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`topic ${topic} was created but its partitions are not served: ${(error as Error).message}`);
      }
      await Bun.sleep(200);
    }
  }
}

const configEntriesOf = (spec: TopicSpec) => [
  { name: "cleanup.policy", value: spec.cleanup },
  { name: "retention.ms", value: String(spec.retentionMs) },
];

/**
 * Replication follows the cluster unless set: three copies where there are
 * three brokers or more, and a write acknowledged by all (acks=all) is on
 * two of them at least, so one broker's loss loses nothing and stops nothing.
 */
export function replicationFor(brokers: number, replication: number) {
  const factor = replication > 0 ? replication : Math.min(3, brokers);
  return { factor, minInsync: factor >= 3 ? 2 : 1 };
}

/**
 * Make the broker match the declared topics. Creating and reconfiguring is
 * safe to repeat. Partition counts are never changed on an existing topic:
 * that would move keys to other partitions and break per-key order and
 * co-partitioning, so a difference is reported instead.
 */
export async function applyTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  defaults: TopicDefaults,
): Promise<TopicsApplied> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  const present = specs.filter((s) => existing.has(s.name));
  const result: TopicsApplied = { created: [], reconfigured: [], partitionDrift: [] };

  if (missing.length > 0) {
    const brokers = (await admin.describeCluster()).brokers.length;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => {
        const { factor, minInsync } = replicationFor(brokers, s.replication ?? defaults.replication);
        return {
          topic: s.name,
          numPartitions: s.partitions ?? defaults.partitions,
          replicationFactor: factor,
          configEntries: [...configEntriesOf(s), { name: "min.insync.replicas", value: String(minInsync) }],
        };
      }),
    });
    result.created = missing.map((s) => s.name);
    await waitUntilServed(admin, result.created);
  }
  if (present.length === 0) return result;

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
  for (const topic of metadata.topics) {
    const spec = present.find((s) => s.name === topic.name);
    const declared = spec?.partitions ?? defaults.partitions;
    if (spec && topic.partitions.length !== declared) {
      result.partitionDrift.push({ name: topic.name, declared, actual: topic.partitions.length });
    }
  }

  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({
      type: ConfigResourceTypes.TOPIC,
      name: s.name,
      configNames: ["cleanup.policy", "retention.ms"],
    })),
  });
  const drifted = present.filter((spec) => {
    const entries = described.resources.find((r) => r.resourceName === spec.name)?.configEntries ?? [];
    return configEntriesOf(spec).some(
      (want) => entries.find((e) => e.configName === want.name)?.configValue !== want.value,
    );
  });
  if (drifted.length > 0) {
    await admin.alterConfigs({
      validateOnly: false,
      resources: drifted.map((s) => ({
        type: ConfigResourceTypes.TOPIC,
        name: s.name,
        configEntries: configEntriesOf(s),
      })),
    });
    result.reconfigured = drifted.map((s) => s.name);
  }
  return result;
}
