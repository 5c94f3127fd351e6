import { afterAll, describe, expect, test } from "bun:test";
import { SMTPServer } from "smtp-server";
import { createSql } from "../infra/platform/clients.ts";
import type { AugmentedMember } from "../infra/platform/contracts/members.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { deadLetterTopic } from "../infra/platform/topology.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { emailerWorker } from "../workers/welcome/emailer.ts";
import { createTestTopic, deleteTopics, eventually, readTopic, testConfig, unique } from "./helpers.ts";

/**
 * The emailer against an SMTP server that says no: a real SMTP server on
 * loopback that refuses one recipient for good (550), another for now (451,
 * twice) and accepts the rest. A 5xx goes to the dead-letter topic with the
 * server's answer and a `dead_lettered` row, never retried; a 4xx is
 * retried and then sent once; the others are not held up.
 */
const run = unique("smtp");
const accepted: string[] = [];
const attempts = new Map<string, number>();
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["AUTH", "STARTTLS"],
  logger: false,
  onRcptTo(address, _session, callback) {
    const to = address.address;
    attempts.set(to, (attempts.get(to) ?? 0) + 1);
    const refuse = (code: number, text: string) => callback(Object.assign(new Error(text), { responseCode: code }));
    if (to.startsWith("gone@")) return refuse(550, "mailbox unavailable");
    if (to.startsWith("busy@") && attempts.get(to)! <= 2) return refuse(451, "try again later");
    callback();
  },
  onData(stream, session, callback) {
    stream.resume();
    stream.on("end", () => {
      accepted.push(...session.envelope.rcptTo.map((r) => r.address));
      callback();
    });
  },
});
await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
const port = (server.server.address() as { port: number }).port;

const topic = `test.${run}.augmented`;
const config = { ...testConfig(), SMTP_URL: `smtp://127.0.0.1:${port}`, EMAIL_MAX_ATTEMPTS: 4 };
const sql = createSql(config, 2);
let worker: RunningWorker | undefined;
afterAll(async () => {
  await worker?.stop();
  await deleteTopics(config, [topic, deadLetterTopic(topic)]);
  await sql.end();
  await new Promise<void>((closed) => server.close(closed));
});

describe("the emailer when the SMTP server refuses", () => {
  test("550 is dead-lettered with the answer and never retried; 451 is retried and sent once; the rest go out", async () => {
    await createTestTopic(config, topic, 1);
    worker = await runWorker(emailerWorker(config, { name: `${run}-emailer`, input: topic }), config);
    const member = (name: string): AugmentedMember => ({
      id: `${run}-${name}`,
      email: `${name}@${run}.example.com`,
      name,
      created_at: new Date().toISOString(),
      subscriber_key: `sk-${name}`,
    });
    const members = ["gone", "busy", "fine"].map(member);
    const producer = await createProducer(config);
    await producer.send(members.map((m) => ({ topic, key: m.id, value: m })));
    await producer.disconnect();

    type Row = { member_id: string; outcome: string; reason: string | null };
    const rows = await eventually("a row for every member", async () => {
      const found = await sql<
        Row[]
      >`select member_id, outcome, reason from welcome_emails where member_id = any(${members.map((m) => m.id)}) order by member_id`;
      return found.length === members.length ? found : undefined;
    });
    const byName = new Map(rows.map((r) => [r.member_id.slice(run.length + 1), r]));
    expect(byName.get("gone")).toMatchObject({ outcome: "dead_lettered", reason: expect.stringContaining("550") });
    expect(byName.get("busy")).toMatchObject({ outcome: "sent", reason: null });
    expect(byName.get("fine")).toMatchObject({ outcome: "sent", reason: null });

    expect(attempts.get(`gone@${run}.example.com`)).toBe(1);
    expect(attempts.get(`busy@${run}.example.com`)).toBe(3);
    expect(accepted.sort()).toEqual([`busy@${run}.example.com`, `fine@${run}.example.com`]);

    const dead = await eventually("the refused member on the dead-letter topic", async () => {
      const records = await readTopic(config, deadLetterTopic(topic));
      return records.length > 0 ? records : undefined;
    });
    expect(dead.map((d) => d.key)).toEqual([`${run}-gone`]);
    expect(dead[0]!.headers["dlq.reason"]).toContain("550");
    expect(dead[0]!.headers["dlq.reason"]).toContain("after 1 attempts");
  }, 60_000);
});
