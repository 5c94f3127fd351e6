import { afterAll, describe, expect, test } from "bun:test";
import { createSql } from "../infra/platform/clients.ts";
import { startKeyService, subscriberKeyOf } from "../infra/tools/keyservice/service.ts";
import { welcomeMessageId } from "../workers/welcome/emailer.ts";
import { mailFor, signUp, type Signup } from "./fixtures/welcome.ts";
import { eventually, ROOT, skipToEnd, testConfig, unique } from "./helpers.ts";
import { TOPIC } from "../infra/platform/topology.ts";

/**
 * SIGKILL the process running capture, augmenter and emailer at random
 * moments while signups keep coming; after a last restart every member has
 * exactly one Message-ID (the one derived from it) and nobody is missing.
 */

const keys = startKeyService();
const config = testConfig();
const sql = createSql(config, 2);
afterAll(async () => {
  await keys.stop();
  await sql.end();
});

describe("welcome pipeline crashes", () => {
  test("capture, augmenter and emailer killed repeatedly: one Message-ID per member, none missing", async () => {
    const run = unique("wcrash");
    await skipToEnd(config, "augmenter", [TOPIC.membersNew]);
    await skipToEnd(config, "emailer", [TOPIC.membersAugmented]);
    const spawn = () =>
      Bun.spawn([process.execPath, "workers/main.ts", "capture", "augmenter", "emailer"], {
        cwd: ROOT,
        env: { ...process.env, SUBSCRIBER_KEY_URL: keys.url, WORKER_SESSION_TIMEOUT_MS: "6000", WORKER_MAX_BATCH: "200" },
        stdout: "ignore",
        stderr: "ignore",
      });
    // Slow answers keep key requests in flight, so kills land mid-work.
    keys.behaviour.delayMs = 20;
    let worker = spawn();
    const ids: Signup[] = [];
    let kills = 0;
    let nextKill = Date.now() + 1500 + Math.random() * 1500;
    for (let slice = 0; slice < 60; slice++) {
      ids.push(...(await signUp(sql, run, 50, { from: slice * 50 })));
      await Bun.sleep(200);
      if (Date.now() >= nextKill) {
        worker.kill("SIGKILL");
        await worker.exited;
        kills++;
        worker = spawn();
        nextKill = Date.now() + 1500 + Math.random() * 1500;
      }
    }
    try {
      expect(kills).toBeGreaterThanOrEqual(4);
      await eventually(
        "every member to be emailed",
        async () => (await sql<{ n: number }[]>`select count(*)::int as n from welcome_emails where member_id = any(${ids.map((m) => m.id)}) and outcome = 'sent'`)[0]!.n === ids.length,
        120_000,
      );
      const mail = mailFor(config, ids);
      const idsByMember = new Map<string, Set<string>>();
      for (const message of mail) {
        const member = message.headers["x-member-id"]!;
        idsByMember.set(member, (idsByMember.get(member) ?? new Set()).add(message.message_id!));
        expect(message.headers["x-subscriber-key"]).toBe(subscriberKeyOf(member));
      }
      const resent = mail.length - ids.length;
      console.log(`welcome crash: ${kills} kills, ${ids.length} members, ${mail.length} messages accepted (${resent} resent with the same Message-ID), ${idsByMember.size} members with mail`);
      expect(idsByMember.size).toBe(ids.length);
      for (const { id } of ids) expect([...idsByMember.get(id)!]).toEqual([welcomeMessageId(id, config.EMAIL_FROM)]);
    } finally {
      worker.kill("SIGTERM");
      await worker.exited;
    }
  }, 240_000);
});
