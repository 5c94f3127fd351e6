import { afterAll, describe, expect, test } from "bun:test";
import { ConfigResourceTypes } from "kafkajs";
import { applyTopics } from "../infra/platform/kafka/admin.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import type { TopicSpec } from "../infra/platform/topology.ts";
import { deleteTopics, testConfig, unique } from "./helpers.ts";

const config = testConfig();

describe("applying the topic list", () => {
  const compacted: TopicSpec = {
    name: unique("test.apply-compact"),
    cleanup: "compact",
    retentionMs: -1,
    description: "test",
  };
  const raw: TopicSpec = {
    name: unique("test.apply-raw"),
    cleanup: "delete",
    retentionMs: 3_600_000,
    partitions: 2,
    description: "test",
  };
  afterAll(() => deleteTopics(config, [compacted.name, raw.name]));

  test("creates missing topics, is a no-op when repeated, and corrects drifted configs", async () => {
    const admin = createKafka(config).admin();
    await admin.connect();
    try {
      const defaults = { partitions: 4, replication: 1 };
      const first = await applyTopics(admin, [compacted, raw], defaults);
      expect(first.created.sort()).toEqual([compacted.name, raw.name].sort());

      const again = await applyTopics(admin, [compacted, raw], defaults);
      expect(again).toEqual({ created: [], reconfigured: [], partitionDrift: [] });

      // Someone changes the policy by hand; the next apply puts it back.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: compacted.name,
            configEntries: [{ name: "cleanup.policy", value: "delete" }],
          },
        ],
      });
      const repaired = await applyTopics(admin, [compacted, raw], defaults);
      expect(repaired.reconfigured).toEqual([compacted.name]);
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: compacted.name, configNames: ["cleanup.policy"] }],
      });
      expect(described.resources[0]?.configEntries[0]?.configValue).toBe("compact");

      // A declared partition count that differs is reported, never applied.
      const drift = await applyTopics(admin, [{ ...raw, partitions: 6 }], defaults);
      expect(drift.partitionDrift).toEqual([{ name: raw.name, declared: 6, actual: 2 }]);
      const metadata = await admin.fetchTopicMetadata({ topics: [raw.name, compacted.name] });
      expect(metadata.topics.find((t) => t.name === raw.name)?.partitions.length).toBe(2);
      expect(metadata.topics.find((t) => t.name === compacted.name)?.partitions.length).toBe(4);
    } finally {
      await admin.disconnect();
    }
  });
});
