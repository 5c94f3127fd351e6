import { parseArgs } from "node:util";
import nodemailer from "nodemailer";
import { createSql } from "../infra/platform/clients.ts";
import { loadConfig } from "../infra/platform/config.ts";
import { readMailbox } from "../infra/tools/smtp/mailbox.ts";
import { summarize } from "./lib/stats.ts";

/**
 * Signup -> welcome email latency, its own process: members are inserted
 * into Postgres at a fixed rate, one transaction each; a signup's time is
 * when its commit returned, its email's when the local SMTP server accepted
 * it (the mail sink stamps each message). With --direct, the same number of
 * emails is sent straight to the SMTP server at the same rate instead: the
 * floor any pipeline pays for SMTP alone.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "60" },
    direct: { type: "boolean", default: false },
  },
});
const config = loadConfig();
const rate = Number(values.rate);
const total = rate * Number(values.seconds);
const run = `wl${Date.now().toString(36)}`;
const smtpDir = `${config.RUNTIME_DIR}/smtp`;
/** By recipient: unique to this run (member ids are not: every database numbers its own). */
const sent = new Map<string, number>();

/** Call `send(i)` for every i < total on a fixed schedule (`rate` per second), whatever earlier calls do. */
async function atFixedRate(send: (i: number) => Promise<unknown>): Promise<void> {
  const start = performance.now();
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    calls.push(send(i));
  }
  await Promise.all(calls);
}

async function direct() {
  const transport = nodemailer.createTransport({
    url: config.SMTP_URL,
    pool: true,
    maxConnections: config.EMAIL_CONCURRENCY,
  } as never);
  await atFixedRate((i) => {
    const to = `${run}-${i}@example.com`;
    sent.set(to, Date.now());
    return transport.sendMail({ from: config.EMAIL_FROM, to, subject: "Welcome!", text: "hello" });
  });
  transport.close();
}

async function signups() {
  const sql = createSql(config, 8);
  await atFixedRate((i) => {
    const email = `${run}-${i}@example.com`;
    return sql`insert into members (email, name, organization_id) values (${email}, ${`Member ${i}`}, ${run})`.then(
      () => void sent.set(email, Date.now()),
    );
  });
  await sql.end();
}

await (values.direct ? direct() : signups());
const deadline = Date.now() + 60_000;
const received = new Map<string, number>();
while (received.size < sent.size && Date.now() < deadline) {
  await Bun.sleep(500);
  for (const message of readMailbox(smtpDir)) {
    const to = message.envelope_to[0];
    if (to && sent.has(to) && !received.has(to)) received.set(to, Date.parse(message.received_at));
  }
}
const delays = [...received].map(([id, at]) => at - sent.get(id)!);
console.log(
  JSON.stringify({
    sent: sent.size,
    received: received.size,
    missed: sent.size - received.size,
    delay: summarize(delays),
  }),
);
process.exit(0);
