import { describe, expect, test } from "bun:test";
import { INGEST_ENDPOINTS } from "../api/http/ingest-endpoints.ts";
import { loadConfig } from "../infra/platform/config.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import {
  JOBS,
  SOURCES,
  TOPIC,
  TOPICS,
  type TopicId,
  topicSpecs,
  VIEWS,
  WORKERS,
  type WorkerName,
} from "../infra/platform/topology.ts";
import { WAREHOUSE_TABLES } from "../workers/export/tables.ts";
import { WORKER_ENTRIES } from "../workers/registry.ts";
import type { Worker } from "../workers/runtime/worker.ts";

// Workers that need a service's URL are created (never run) with one.
const config = loadConfig({
  ...process.env,
  SUBSCRIBER_KEY_URL: "http://127.0.0.1:9/keys",
  PUSH_WEBHOOK_URL: "http://127.0.0.1:9/push",
});
const names = (ids: readonly TopicId[]) => ids.map((id) => TOPIC[id]);
const declared = new Set(Object.values(TOPIC));

describe("the declared topology", () => {
  test("every fold worker reads and writes exactly the topics it declares, all of them declared", async () => {
    const folds = Object.entries(WORKER_ENTRIES).flatMap(([name, entry]) =>
      "create" in entry ? [[name as WorkerName, entry.create(config)] as const] : [],
    );
    expect(folds.length).toBe(15);
    try {
      for (const [name, worker] of folds) {
        expect({ name, inputs: [...worker.inputs] }).toEqual({ name, inputs: names(WORKERS[name].inputs) });
        expect({ name, outputs: [...worker.outputs] }).toEqual({ name, outputs: names(WORKERS[name].outputs) });
        for (const topic of [...worker.inputs, ...worker.outputs]) expect(declared.has(topic), topic).toBe(true);
      }
    } finally {
      await Promise.all(folds.map(([, worker]) => closeWorker(worker)));
    }
  });

  test("the registry implements every declared worker and nothing else", () => {
    expect(Object.keys(WORKER_ENTRIES).sort()).toEqual(Object.keys(WORKERS).sort());
  });

  test("co-partitioned inputs have equal partition counts, declared and on the broker", async () => {
    const copartitioned = Object.values(WORKERS).filter((w) => "copartitioned" in w && w.copartitioned);
    expect(copartitioned.length).toBeGreaterThan(0);
    const admin = createKafka(config).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: Object.values(TOPIC) });
      const onBroker = new Map(topics.map((t) => [t.name, t.partitions.length]));
      for (const worker of copartitioned) {
        const declaredCounts = new Set(
          worker.inputs.map((id) =>
            "partitions" in TOPICS[id] ? (TOPICS[id] as { partitions: number }).partitions : config.TOPIC_PARTITIONS,
          ),
        );
        expect({ inputs: worker.inputs, counts: declaredCounts.size }).toEqual({ inputs: worker.inputs, counts: 1 });
        const brokerCounts = new Set(worker.inputs.map((id) => onBroker.get(TOPIC[id])));
        expect({ inputs: worker.inputs, counts: [...brokerCounts] }).toEqual({
          inputs: worker.inputs,
          counts: [...declaredCounts],
        });
      }
    } finally {
      await admin.disconnect();
    }
  });

  test("every view has a rebuild path: a fold worker whose store can be dropped and folded again", async () => {
    const views = Object.entries(VIEWS);
    expect(views.length).toBe(7);
    for (const [name, view] of views) {
      const entry = WORKER_ENTRIES[view.worker];
      expect({ name, fold: "create" in entry }).toEqual({ name, fold: true });
      if (!("create" in entry)) continue;
      const worker = entry.create(config);
      try {
        expect(typeof worker.store.reset).toBe("function");
        expect(worker.inputs.length).toBeGreaterThan(0);
      } finally {
        await closeWorker(worker);
      }
    }
  });

  test("every topic is written by someone and every topic written from outside is ingested or produced by a declared source", () => {
    const written = new Set([
      ...Object.values(WORKERS).flatMap((w) => w.outputs),
      ...SOURCES.flatMap((s) => s.outputs),
    ]);
    expect(Object.keys(TOPICS).filter((id) => !written.has(id as TopicId))).toEqual([]);
    expect(INGEST_ENDPOINTS.map((e) => e.topic).sort()).toEqual(names(SOURCES[0]!.outputs).sort());
  });

  test("the export job's inputs are the warehouse tables' topics", () => {
    expect(WAREHOUSE_TABLES.map((t) => t.topic).sort()).toEqual(names(JOBS.export.inputs).sort());
  });

  test("topic and dead-letter names come from the declaration, with this process's prefix", () => {
    expect(process.env.TOPIC_PREFIX).toBe("test.");
    const specs = topicSpecs();
    expect(specs.length).toBe(49);
    for (const spec of specs) expect(spec.name.startsWith("test.")).toBe(true);
    expect(specs.map((s) => s.name)).toContain("test.clickstream.events.dlq");
    expect(topicSpecs("").map((s) => s.name)).toContain("clickstream.events");
  });
});

async function closeWorker(worker: Worker<unknown, unknown>): Promise<void> {
  await worker.store.close();
  for (const sink of worker.sinks ?? []) await sink.close?.();
}
