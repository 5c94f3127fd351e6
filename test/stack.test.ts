import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigResourceTypes } from "kafkajs";
import { MIGRATIONS } from "../db/migrate.ts";
import { createOpenSearch, createRedis, createSql } from "../infra/platform/clients.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic, topicSpecs } from "../infra/platform/topology.ts";
import { createTestTopic, deleteTopics, eventually, testConfig, unique } from "./helpers.ts";

const config = testConfig();

describe("the local stack's servers answer", () => {
  const topic = unique("test.roundtrip");
  beforeAll(() => createTestTopic(config, topic, 3));
  afterAll(() => deleteTopics(config, [topic, deadLetterTopic(topic)]));

  test("a record produced with the broker module is consumed back", async () => {
    const kafka = createKafka(config);
    const producer = await createProducer(config);
    const sent = { id: unique("rec"), at: new Date().toISOString(), text: "héllo" };
    await producer.send([{ topic, key: "user-1", value: sent, headers: { source: "stack.test" } }]);
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: unique("test.roundtrip") });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string | undefined; value: unknown; header: string | undefined }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({
          key: message.key?.toString(),
          value: JSON.parse(message.value!.toString()),
          header: message.headers?.source?.toString(),
        });
      },
    });
    await eventually("the record to come back", async () => received.length > 0);
    await consumer.disconnect();
    expect(received).toEqual([{ key: "user-1", value: sent, header: "stack.test" }]);
  });

  test("a send larger than the broker takes in one batch is split, and every record lands", async () => {
    const one = unique("test.big-send");
    await createTestTopic(config, one, 1);
    try {
      const producer = await createProducer(config);
      // 4 MiB for one partition: four times the broker's message.max.bytes.
      await producer.send(
        Array.from({ length: 4096 }, (_, i) => ({ topic: one, key: "same-key", value: { i, pad: "x".repeat(1000) } })),
      );
      await producer.disconnect();
      const admin = createKafka(config).admin();
      await admin.connect();
      const [partition] = await admin.fetchTopicOffsets(one);
      await admin.disconnect();
      expect(partition?.high).toBe("4096");
    } finally {
      await deleteTopics(config, [one, deadLetterTopic(one)]);
    }
  });

  test("a document indexed in OpenSearch is found by a search", async () => {
    const search = createOpenSearch(config);
    const index = unique("test-stack");
    try {
      await search.index({ index, id: "u1", body: { name: "Ada Lovelace", country: "GB" }, refresh: "true" });
      const { body } = await search.search({ index, body: { query: { match: { name: "lovelace" } } } });
      expect(body.hits.hits.map((hit) => ("_id" in hit ? hit._id : undefined))).toEqual(["u1"]);
    } finally {
      await search.indices.delete({ index }).catch(() => {});
      await search.close();
    }
  });

  test("Redis answers PING", async () => {
    const redis = createRedis(config);
    expect(await redis.ping()).toBe("PONG");
    redis.disconnect();
  });

  test("migrations are applied: every committed migration is recorded and the source tables exist", async () => {
    const sql = createSql(config, 1);
    try {
      const journal = JSON.parse(readFileSync(join(MIGRATIONS, "meta", "_journal.json"), "utf8")) as {
        entries: unknown[];
      };
      const [applied] = await sql<{ count: number }[]>`select count(*)::int as count from drizzle.__drizzle_migrations`;
      expect(applied?.count).toBe(journal.entries.length);
      const tables = await sql<{ table_name: string }[]>`
        select table_name from information_schema.tables where table_schema = 'public' and table_name in ('members', 'users') order by table_name`;
      expect(tables.map((t) => t.table_name)).toEqual(["members", "users"]);
      // The identity column works as the SPEC's plain-SQL writers expect.
      const [member] = await sql<
        { id: string }[]
      >`insert into members (email) values ('probe@example.com') returning id`;
      expect(BigInt(member!.id)).toBeGreaterThan(0n);
      await sql`delete from members where id = ${member!.id}`;
    } finally {
      await sql.end();
    }
  });
});

describe("declared topics", () => {
  test("every declared topic exists with its declared partitions and cleanup policy", async () => {
    const admin = createKafka(config).admin();
    await admin.connect();
    try {
      const names = topicSpecs().map((t) => t.name);
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: names.map((name) => ({
          type: ConfigResourceTypes.TOPIC,
          name,
          configNames: ["cleanup.policy", "retention.ms"],
        })),
      });
      for (const spec of topicSpecs()) {
        const topic = metadata.topics.find((t) => t.name === spec.name);
        expect(topic?.partitions.length, spec.name).toBe(spec.partitions ?? config.TOPIC_PARTITIONS);
        const entries = described.resources.find((r) => r.resourceName === spec.name)?.configEntries ?? [];
        const value = (name: string) => entries.find((e) => e.configName === name)?.configValue;
        expect(value("cleanup.policy"), spec.name).toBe(spec.cleanup);
        expect(value("retention.ms"), spec.name).toBe(String(spec.retentionMs));
      }
    } finally {
      await admin.disconnect();
    }
  });
});
