import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSql } from "../infra/platform/clients.ts";
import { deadLetterTopic, TOPIC } from "../infra/platform/topology.ts";
import { startKeyService, subscriberKeyOf } from "../infra/tools/keyservice/service.ts";
import { startOutboxCapture } from "../workers/capture/outbox.ts";
import { type Running, runWorker } from "../workers/runtime/runner.ts";
import { serveStatus } from "../workers/runtime/status.ts";
import { augmenterWorker } from "../workers/welcome/augmenter.ts";
import { emailerWorker } from "../workers/welcome/emailer.ts";
import { mailFor, type Signup, signUp } from "./fixtures/welcome.ts";
import { eventually, skipToEnd, tailTopic, testConfig, unique } from "./helpers.ts";

/** The Message-ID the docs promise for a member's welcome: `<welcome.<id>@<EMAIL_FROM's domain>>`, unsafe characters as =hh. */
const expectedMessageId = (memberId: string, from: string) =>
  `<welcome.${memberId.replace(/[^A-Za-z0-9._-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}@${from.split("@")[1]!.replace(/>$/, "")}>`;

/**
 * The welcome pipeline on the real servers: rows inserted into Postgres
 * `members`, the outbox capture, the augmenter against the stand-in key
 * service, the emailer into the local SMTP server, whose mailbox is read.
 */

const keys = startKeyService();
const config = { ...testConfig(), SUBSCRIBER_KEY_URL: keys.url, BREAKER_COOLDOWN_MS: 1000, KEY_SERVICE_BACKOFF_MS: 50 };
const sql = createSql(config, 4);
const run = unique("welcome");
const names = { augmenter: `${run}-augmenter`, emailer: `${run}-emailer` };
const running: Running[] = [];
const status = serveStatus(running, 0);
const dlq = await tailTopic(config, deadLetterTopic(TOPIC.membersNew));

type Details = {
  augmented: number;
  deadLettered: number;
  retried: number;
  breaker: { state: string; opened: number; closed: number };
};
const augmenterStatus = async () =>
  ((await (await fetch(`http://127.0.0.1:${status.port}/status`)).json()) as { workers: Record<string, Details> })
    .workers[names.augmenter]!;

const emailsHandled = async (members: Signup[]) =>
  (
    await sql<
      { n: number }[]
    >`select count(*)::int as n from welcome_emails where member_id = any(${members.map((m) => m.id)})`
  )[0]!.n;

beforeAll(async () => {
  await skipToEnd(config, names.augmenter, [TOPIC.membersNew]);
  await skipToEnd(config, names.emailer, [TOPIC.membersAugmented]);
  running.push(await startOutboxCapture(config));
  running.push(await runWorker(augmenterWorker(config, { name: names.augmenter }), config));
  running.push(await runWorker(emailerWorker(config, { name: names.emailer }), config));
});
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await dlq.stop();
  await status.stop(true);
  await keys.stop();
  await sql.end();
});

/** Every member got exactly one email: the right recipient, subscriber key and Message-ID. */
function expectOneEmailEach(members: Signup[], emailOf: (i: number) => string) {
  const mail = mailFor(config, members);
  expect(mail.length).toBe(members.length);
  const byMember = new Map(mail.map((m) => [m.headers["x-member-id"]!, m]));
  expect(byMember.size).toBe(members.length);
  members.forEach(({ id, email }, i) => {
    expect(email).toBe(emailOf(i));
    const message = byMember.get(id)!;
    expect(message.envelope_to).toEqual([email]);
    expect(message.headers["x-subscriber-key"]).toBe(subscriberKeyOf(id));
    expect(message.message_id).toBe(expectedMessageId(id, config.EMAIL_FROM));
  });
}

describe("member welcome pipeline", () => {
  test("5,000 signups: exactly 5,000 emails, one per member, to the right address with the right key", async () => {
    const ids = await signUp(sql, `${run}-a`, 5000);
    await eventually("5,000 welcome emails", async () => (await emailsHandled(ids)) === 5000, 120_000);
    expectOneEmailEach(ids, (i) => `${run}-a-${i}@example.com`);
    const outcomes =
      await sql`select outcome, count(*)::int as n from welcome_emails where member_id = any(${ids.map((m) => m.id)}) group by outcome`;
    expect(outcomes.map((r) => [r.outcome, r.n])).toEqual([["sent", 5000]]);
  }, 150_000);

  test("the key service down for 10 s: the breaker opens and closes, no member is lost or emailed twice", async () => {
    keys.behaviour.failing = true;
    const ids = await signUp(sql, `${run}-b`, 300);
    await eventually("the breaker to open", async () => (await augmenterStatus()).breaker.state === "open", 20_000);
    await Bun.sleep(10_000);
    keys.behaviour.failing = false;
    await eventually(
      "every member of the outage to be emailed",
      async () => (await emailsHandled(ids)) === 300,
      60_000,
    );
    expectOneEmailEach(ids, (i) => `${run}-b-${i}@example.com`);
    const details = await augmenterStatus();
    expect(details.breaker.state).toBe("closed");
    expect(details.breaker.opened).toBeGreaterThanOrEqual(1);
    expect(details.breaker.closed).toBeGreaterThanOrEqual(1);
    expect(details.retried).toBeGreaterThan(0);
    expect(details.deadLettered).toBe(0);
  }, 90_000);

  test("a member whose key request always fails goes to members.new.dlq with the reason; the others are emailed", async () => {
    const ids = await sql.begin(async (tx) => {
      const inserted = await signUp(tx as never, `${run}-c`, 20);
      // Told before the commit makes the rows visible to the capture.
      keys.behaviour.failMembers.push(inserted[7]!.id);
      return inserted;
    });
    const doomed = ids[7]!;
    const others = ids.filter((m) => m !== doomed);
    await eventually("the others to be emailed", async () => (await emailsHandled(others)) === others.length, 60_000);
    const dead = await eventually("the dead letter", async () => dlq.records.find((r) => r.key === doomed.id), 60_000);
    expect(dead.headers["dlq.reason"]).toContain("HTTP 500");
    expect(dead.headers["dlq.reason"]).toContain(`after ${config.KEY_SERVICE_MAX_ATTEMPTS} attempts`);
    expect(JSON.parse(dead.value).email).toBe(`${run}-c-7@example.com`);
    expect(mailFor(config, [doomed])).toEqual([]);
    expect(await emailsHandled([doomed])).toBe(0);
  }, 90_000);

  test("signups with no or a malformed email go to members.new.dlq, never to SMTP", async () => {
    const ids = await signUp(sql, `${run}-d`, 3, { emails: ["", "not-an-email", `${run}-d-ok@example.com`] });
    await eventually("the good one to be emailed", async () => (await emailsHandled([ids[2]!])) === 1, 60_000);
    const dead = await eventually(
      "both bad rows dead-lettered",
      async () => {
        const found = ids.slice(0, 2).map((m) => dlq.records.find((r) => r.key === m.id));
        return found.every(Boolean) ? (found as NonNullable<(typeof found)[number]>[]) : undefined;
      },
      30_000,
    );
    expect(dead[0]!.headers["dlq.reason"]).toContain("email");
    expect(dead[1]!.headers["dlq.reason"]).toContain("is not an email address");
    expect(mailFor(config, ids.slice(0, 2))).toEqual([]);
  }, 90_000);
});
