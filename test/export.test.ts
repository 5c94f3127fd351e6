import { afterAll, describe, expect, test } from "bun:test";
import { createSql } from "../infra/platform/clients.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { topicIncarnations } from "../infra/platform/kafka/incarnation.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic, TOPIC } from "../infra/platform/topology.ts";
import { COPY_FORMAT, csvField, csvLine } from "../workers/export/csv.ts";
import { runExport } from "../workers/export/export.ts";
import { testClicksTable } from "./fixtures/export-runner.ts";
import { createTestTopic, deleteTopics, eventually, ROOT, runCommand, testConfig, unique } from "./helpers.ts";

/**
 * The warehouse export against the real broker and Postgres, on topics of
 * its own (with the columns of commerce.clicks), so the broker's history
 * never slows it.
 */

const config = testConfig();
const sql = createSql(config, 2);
const topics: string[] = [];
afterAll(async () => {
  await deleteTopics(
    config,
    topics.flatMap((t) => [t, deadLetterTopic(t)]),
  );
  await sql.end();
});

const DAY = 86_400_000;
const day = (offsetDays: number) => new Date(Date.now() - offsetDays * DAY).toISOString().slice(0, 10);

async function newTopic(partitions = 3) {
  const topic = `test.${unique("wh")}`;
  await createTestTopic(config, topic, partitions);
  topics.push(topic);
  return { topic, table: `t_${topic.replace(/\W/g, "_")}` };
}

/** `count` clicks spread over the given days back from today (0 = today), each between its day's midnight and today's time of day (never in the future). */
function clicks(topic: string, count: number, days: number[] = [0]): OutRecord[] {
  const timeOfDay = Date.now() % DAY;
  return Array.from({ length: count }, (_, i) => {
    const at = new Date(
      Date.parse(`${day(days[i % days.length]!)}T00:00:00Z`) + Math.floor((timeOfDay * (i % 3600)) / 3600),
    ).toISOString();
    const user = `u${i % 97}`;
    return {
      topic,
      key: user,
      value: {
        click_id: `c${i}`,
        user_id: user,
        product_id: `p${i % 13}`,
        occurred_at: at,
        price: (i % 500) / 10,
        url: `https://shop/p${i % 13}`,
      },
    };
  });
}

async function produce(records: OutRecord[]) {
  const producer = await createProducer(config);
  for (let i = 0; i < records.length; i += 5000) await producer.send(records.slice(i, i + 5000));
  await producer.disconnect();
}

/** The topic's every (partition, offset) must be in the table or its rejects exactly once: counts and a checksum. */
async function expectExactlyTheTopic(topic: string, table: string) {
  const admin = createKafka(config).admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const want = ends.reduce(
    (acc, p) => {
      const n = BigInt(p.high);
      return {
        count: acc.count + n,
        checksum: acc.checksum + BigInt(p.partition) * 1_000_000_000n * n + (n * (n - 1n)) / 2n,
      };
    },
    { count: 0n, checksum: 0n },
  );
  const [got] = await sql.unsafe(`
    select count(*)::text as count, count(distinct (_partition, _offset))::text as distinct, coalesce(sum(_partition::numeric * 1000000000 + _offset), 0)::text as checksum
    from (select _partition, _offset from warehouse."${table}" union all select _partition, _offset from warehouse."${table}_rejects") s`);
  expect({ count: got!.count, distinct: got!.distinct, checksum: got!.checksum }).toEqual({
    count: String(want.count),
    distinct: String(want.count),
    checksum: String(want.checksum),
  });
}

/**
 * Every column of a sample of rows (every 97th record) equals the record it
 * came from: the contract's fields typed, absent ones null, the raw JSON,
 * the key and the topic.
 */
async function expectColumnsOf(records: OutRecord[], topic: string, table: string) {
  const sample = records.filter((_, i) => i % 97 === 0);
  expect(sample.length).toBeGreaterThan(100);
  const rows: Record<string, unknown>[] = await sql.unsafe(
    `select click_id, user_id, product_id, occurred_at, product, price::text as price, url, user_agent, ip_address, raw, _key, _topic from warehouse."${table}" where click_id = any($1)`,
    [sample.map((r) => (r.value as { click_id: string }).click_id)],
  );
  const byId = new Map(rows.map((row) => [row.click_id as string, row]));
  expect(byId.size).toBe(sample.length);
  for (const record of sample) {
    const value = record.value as {
      click_id: string;
      user_id: string;
      product_id: string;
      occurred_at: string;
      price: number;
      url: string;
    };
    const row = byId.get(value.click_id)!;
    const got: Record<string, unknown> = {
      ...row,
      occurred_at: (row.occurred_at as Date).toISOString(),
      price: Number(row.price),
    };
    expect(got).toEqual({
      click_id: value.click_id,
      user_id: value.user_id,
      product_id: value.product_id,
      occurred_at: value.occurred_at,
      product: null,
      price: value.price,
      url: value.url,
      user_agent: null,
      ip_address: null,
      raw: value,
      _key: record.key,
      _topic: topic,
    });
  }
}

describe("warehouse export", () => {
  test("values survive the COPY format: quotes, the quote byte, commas, newlines, backslashes, empty and null", async () => {
    const texts = ['say "hi", then\nleave', "a\x01b\x01\x01", "back\\slash", "", null];
    const tags = ['x"y', "a,b", "", "c\\d"];
    const json = JSON.stringify({ text: 'quoted "value"\twith tab', n: 1 });
    await sql`create temporary table copy_format (id int, text text, tags text[], price numeric, raw jsonb)`;
    const lines = texts.map((text, id) =>
      csvLine([
        csvField(id, "int"),
        csvField(text, "text"),
        csvField(tags, "text[]"),
        csvField(id === 4 ? null : id / 4, "numeric"),
        csvField(json, "raw"),
      ]),
    );
    const reserved = await sql.reserve();
    try {
      const copy = await reserved.unsafe(`copy copy_format from stdin (${COPY_FORMAT})`).writable();
      await new Promise<void>((resolve, reject) =>
        copy.end(lines.join(""), (error?: Error | null) => (error ? reject(error) : resolve())),
      );
      const rows = await reserved<
        { id: number; text: string | null; tags: string[]; price: string | null; raw: unknown }[]
      >`select id, text, tags, price::text as price, raw from copy_format order by id`;
      expect(rows.map((r) => r.text)).toEqual(texts);
      for (const r of rows) expect(r.tags).toEqual(tags);
      expect(rows.map((r) => r.price)).toEqual(["0", "0.25", "0.5", "0.75", null]);
      for (const r of rows) expect(r.raw).toEqual(JSON.parse(json));
    } finally {
      reserved.release();
    }
  });

  test("a run loads every record once; a second run loads nothing; rows land in their day's partition", async () => {
    const { topic, table } = await newTopic();
    const produced = clicks(topic, 30_000, [0, 1, 2]);
    await produce(produced);
    const first = await runExport(
      { ...config, WAREHOUSE_RETENTION_DAYS: 30 },
      { tables: [testClicksTable(topic, table)] },
    );
    expect(first.tables[table]).toEqual({ loaded: 30_000, rejected: 0 });
    await expectColumnsOf(produced, topic, table);
    expect(first.partitionsCreated.sort()).toEqual([2, 1, 0].map((d) => `${table}_p${day(d).replaceAll("-", "")}`));
    await expectExactlyTheTopic(topic, table);

    const placed = await sql.unsafe(
      `select tableoid::regclass::text as part, min(occurred_at)::date::text as first, max(occurred_at)::date::text as last, count(*)::int as n from warehouse."${table}" group by 1 order by 1`,
    );
    expect(placed.map((p) => [p.part, p.first, p.last, p.n])).toEqual(
      [2, 1, 0].map((d) => [`warehouse.${table}_p${day(d).replaceAll("-", "")}`, day(d), day(d), 10_000]),
    );

    await produce(clicks(topic, 500));
    const second = await runExport(config, { tables: [testClicksTable(topic, table)] });
    expect(second.tables[table]).toEqual({ loaded: 500, rejected: 0 });
    await expectExactlyTheTopic(topic, table);
    const third = await runExport(config, { tables: [testClicksTable(topic, table)] });
    expect(third.tables[table]).toEqual({ loaded: 0, rejected: 0 });
  }, 120_000);

  test("offsets committed for another log (past the topic's end: a reset broker) load the new log from its start", async () => {
    const { topic, table } = await newTopic();
    const produced = clicks(topic, 300);
    await produce(produced);
    // As a broker whose data was reset leaves them: offsets far past what the topic now holds.
    for (const partition of [0, 1, 2])
      await sql`
        insert into warehouse.export_offsets (topic, partition, next_offset) values (${topic}, ${partition}, 1000000)
        on conflict (topic, partition) do update set next_offset = excluded.next_offset`;
    const summary = await runExport(config, { tables: [testClicksTable(topic, table)] });
    expect(summary.tables[table]).toEqual({ loaded: 300, rejected: 0 });
    await expectExactlyTheTopic(topic, table);
  });

  test("a topic made again that has already grown past the old offsets: its new log is loaded from its start", async () => {
    const { topic, table } = await newTopic();
    await produce(clicks(topic, 90));
    const first = await runExport(config, { tables: [testClicksTable(topic, table)] });
    expect(first.tables[table]).toEqual({ loaded: 90, rejected: 0 });
    const [before] = (await topicIncarnations(config, [topic])).values();

    await deleteTopics(config, [topic]);
    const admin = createKafka(config).admin();
    await admin.connect();
    await eventually("the topic to be gone", async () => !(await admin.listTopics()).includes(topic) || undefined);
    await admin.disconnect();
    await createTestTopic(config, topic);
    const [after] = (await topicIncarnations(config, [topic])).values();
    expect(after).not.toBe(before);
    // The same keys, so each partition's new log ends past where the old one was committed.
    const again = clicks(topic, 300).map((r) => ({
      ...r,
      value: { ...(r.value as object), click_id: `again-${r.key}` },
    }));
    await produce(again);

    const second = await runExport(config, { tables: [testClicksTable(topic, table)] });
    expect(second.tables[table]).toEqual({ loaded: 300, rejected: 0 });
    const [rows] = await sql.unsafe(
      `select count(*) filter (where click_id like 'again-%')::int as again, count(*)::int as all from warehouse."${table}"`,
    );
    expect({ ...rows }).toEqual({ again: 300, all: 390 });
    const offsets = await sql`select incarnation from warehouse.export_offsets where topic = ${topic}`;
    expect(offsets.length).toBe(3);
    for (const { incarnation } of offsets) expect(incarnation).toBe(after);
  }, 60_000);

  test("partitions past WAREHOUSE_RETENTION_DAYS are dropped, recent ones kept", async () => {
    const { topic, table } = await newTopic(1);
    await produce(clicks(topic, 300, [0, 2, 10]));
    await runExport({ ...config, WAREHOUSE_RETENTION_DAYS: 30 }, { tables: [testClicksTable(topic, table)] });
    const summary = await runExport(
      { ...config, WAREHOUSE_RETENTION_DAYS: 3 },
      { tables: [testClicksTable(topic, table)] },
    );
    expect(summary.partitionsDropped).toEqual([`${table}_p${day(10).replaceAll("-", "")}`]);
    const left = await sql<{ name: string }[]>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = ${`warehouse."${table}"`}::regclass order by 1`;
    expect(left.map((r) => r.name)).toEqual([2, 0].map((d) => `${table}_p${day(d).replaceAll("-", "")}`));
  }, 60_000);

  test("a record that breaks the contract lands in the reject table with the reason", async () => {
    const { topic, table } = await newTopic(1);
    await produce([
      ...clicks(topic, 2),
      { topic, key: "u1", value: Buffer.from("{not json") },
      { topic, key: "u1", value: { click_id: "c-bad", user_id: "u1", occurred_at: "yesterday" } },
    ]);
    const summary = await runExport(config, { tables: [testClicksTable(topic, table)] });
    expect(summary.tables[table]).toEqual({ loaded: 2, rejected: 2 });
    const rejects = await sql.unsafe(
      `select _offset::int as offset, reason from warehouse."${table}_rejects" order by _offset`,
    );
    expect(rejects.map((r) => r.offset)).toEqual([2, 3]);
    expect(rejects[0]!.reason).toContain("JSON");
    expect(rejects[1]!.reason).toContain("product_id");
    expect(rejects[1]!.reason).toContain("occurred_at");
    await expectExactlyTheTopic(topic, table);
  }, 60_000);

  test("SIGKILLed mid-run, a rerun leaves the table exactly equal to the topic", async () => {
    const { topic, table } = await newTopic();
    await produce(clicks(topic, 200_000, [0, 1]));
    const run = () =>
      Bun.spawn([process.execPath, "test/fixtures/export-runner.ts", topic, table], {
        cwd: ROOT,
        env: { ...process.env, EXPORT_BATCH: "2000" },
        stdout: "pipe",
        stderr: "ignore",
      });
    const loadedSoFar = async () => {
      const [row] = await sql.unsafe(`select count(*)::int as n from warehouse."${table}"`).catch(() => [{ n: 0 }]);
      return row!.n as number;
    };
    let kills = 0;
    for (let i = 0; i < 2; i++) {
      const before = await loadedSoFar();
      const child = run();
      // Killed while it loads: once rows have moved, at a random moment.
      await eventually("the export to load something", async () => (await loadedSoFar()) > before, 60_000);
      await Bun.sleep(Math.random() * 300);
      child.kill("SIGKILL");
      await child.exited;
      kills++;
    }
    const partial = { n: await loadedSoFar() };
    const last = run();
    expect(await last.exited).toBe(0);
    const summary = JSON.parse((await new Response(last.stdout).text()).trim().split("\n").pop()!) as {
      tables: Record<string, { loaded: number }>;
    };
    console.log(
      `export crash: ${kills} kills, ${partial!.n} rows loaded before the rerun, ${summary.tables[table]!.loaded} by it`,
    );
    expect(partial!.n).toBeGreaterThan(0);
    expect(partial!.n).toBeLessThan(200_000);
    expect(partial!.n + summary.tables[table]!.loaded).toBe(200_000);
    await expectExactlyTheTopic(topic, table);
  }, 120_000);

  test("--schedule runs again and again, never two runs at once", async () => {
    const child = Bun.spawn(
      [process.execPath, "workers/export/cli.ts", TOPIC.follows, "--schedule", "*/2 * * * * *", "--json"],
      {
        cwd: ROOT,
        env: process.env,
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    await Bun.sleep(9000);
    child.kill("SIGTERM");
    await child.exited;
    const lines = (await new Response(child.stdout).text()).trim().split("\n");
    const events = lines.flatMap((line) =>
      line.startsWith("export run at") ? ["start"] : line.startsWith("{") ? ["end"] : [],
    );
    expect(events.filter((e) => e === "end").length).toBeGreaterThanOrEqual(3);
    // Strictly start, end, start, end...: no run began before the previous one ended.
    expect(events.length).toBeGreaterThan(5);
    for (const [i, event] of events.entries()) expect(event).toBe(i % 2 === 0 ? "start" : "end");
  }, 60_000);

  test("an unknown topic or a bad schedule stops the command with a message", async () => {
    const unknownTopic = await runCommand([process.execPath, "workers/export/cli.ts", "no.such.topic"], {}, 30_000);
    expect(unknownTopic.code).toBe(2);
    expect(unknownTopic.stderr).toContain("unknown topic(s): no.such.topic");
    const badCron = await runCommand(
      [process.execPath, "workers/export/cli.ts", "--schedule", "every minute"],
      {},
      30_000,
    );
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toContain("--schedule");
  }, 60_000);
});
