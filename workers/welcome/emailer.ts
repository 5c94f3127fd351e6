import nodemailer from "nodemailer";
import { createSql } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { AugmentedMember } from "../../infra/platform/contracts/members.ts";
import { logger } from "../../infra/platform/log.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { deadLetterEvent } from "../runtime/dead-letter.ts";
import { decodeWith } from "../runtime/decode.ts";
import { lazyProducer } from "../runtime/lazy-producer.ts";
import { type Attempt, forEachLimited, withRetries } from "../runtime/retry.ts";
import { postgresStateStore } from "../runtime/stores/postgres-state.ts";
import type { Change, Worker } from "../runtime/worker.ts";

/** What the emailer keeps per member: that it was handled. */
type Handled = { messageId: string };
type Outcome = { outcome: "sent" | "dead_lettered"; reason: string | null; at: Date };

export type EmailerStats = { sent: number; retried: number; deadLettered: number; lastError: string | null };

/** The Message-ID of a member's welcome email: the same on every attempt, by any process. */
export function welcomeMessageId(memberId: string, from: string): string {
  const domain = from.match(/@([A-Za-z0-9.-]+)/)?.[1] ?? "cdp.local";
  const safe = memberId.replace(/[^A-Za-z0-9._-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `<welcome.${safe}@${domain}>`;
}

/** SMTP 4xx and connection trouble are worth retrying; a 5xx answer will not change. */
function smtpAttempt(error: unknown): Attempt {
  const { responseCode, message } = error as { responseCode?: number; message?: string };
  const reason = responseCode
    ? `SMTP server answered ${responseCode}: ${message}`
    : `SMTP failed: ${message ?? String(error)}`;
  return { ok: false, retryable: responseCode === undefined || responseCode < 500, reason };
}

/**
 * members.augmented -> one welcome email per member over SMTP (SPEC §2.4),
 * recorded in Postgres `welcome_emails` with the applied offsets in one
 * transaction. A member with a row is never emailed again. The email goes
 * out before its row commits, so a crash in between sends it again on
 * replay, with the same Message-ID; nothing makes a second one with another.
 * Rejected for good (SMTP 5xx, or retries exhausted): members.augmented.dlq
 * and a `dead_lettered` row.
 */
export function emailerWorker(
  config: Config,
  { name = "emailer", input = TOPIC.membersAugmented } = {},
): Worker<AugmentedMember, Handled> {
  const log = logger(name);
  const stats: EmailerStats = { sent: 0, retried: 0, deadLettered: 0, lastError: null };
  const transport = nodemailer.createTransport({
    url: config.SMTP_URL,
    pool: true,
    maxConnections: config.EMAIL_CONCURRENCY,
    connectionTimeout: 10_000,
    socketTimeout: 30_000,
  } as never);
  const producer = lazyProducer(config);
  // Handed from the sink to the store commit of the same flush, by member id.
  const outcomes = new Map<string, Outcome>();

  async function send(member: AugmentedMember): Promise<void> {
    const messageId = welcomeMessageId(member.id, config.EMAIL_FROM);
    const result = await withRetries(
      async () => {
        try {
          await transport.sendMail({
            from: config.EMAIL_FROM,
            to: member.email,
            subject: `Welcome${member.name ? `, ${member.name}` : ""}!`,
            messageId,
            headers: { "X-Member-Id": member.id, "X-Subscriber-Key": member.subscriber_key },
            text: `Hello${member.name ? ` ${member.name}` : ""},\n\nwelcome aboard. Your subscriber key is ${member.subscriber_key}.\n`,
          });
          return { ok: true };
        } catch (error) {
          return smtpAttempt(error);
        }
      },
      {
        maxAttempts: config.EMAIL_MAX_ATTEMPTS,
        baseMs: 200,
        onRetry: (_, reason) => {
          stats.retried++;
          stats.lastError = reason;
        },
      },
    );
    if (result.ok) {
      stats.sent++;
      outcomes.set(member.id, { outcome: "sent", reason: null, at: new Date() });
      return;
    }
    stats.deadLettered++;
    stats.lastError = `${new Date().toISOString()} member ${member.id}: ${result.reason}`;
    log.warn("welcome email dead-lettered", { member: member.id, reason: result.reason });
    await producer.send([
      deadLetterEvent(input, member.id, member, `${result.reason} (after ${result.attempts} attempts)`, name),
    ]);
    outcomes.set(member.id, { outcome: "dead_lettered", reason: result.reason, at: new Date() });
  }

  return {
    name,
    inputs: [input],
    outputs: [],
    decode: decodeWith(AugmentedMember),
    key: (member) => member.id,
    store: postgresStateStore<Handled, AugmentedMember>({
      sql: createSql(config, 4),
      worker: name,
      async loadStates(sql, ids) {
        const rows = await sql<
          { member_id: string; message_id: string }[]
        >`select member_id, message_id from welcome_emails where member_id = any(${ids as string[]})`;
        return new Map(rows.map((r) => [r.member_id, { messageId: r.message_id }]));
      },
      async writeChanges(tx, changes) {
        const rows = changes.map(({ event: member, state }) => {
          const outcome = outcomes.get(member.id);
          if (!outcome) throw new Error(`emailer: no send outcome for member ${member.id}`);
          outcomes.delete(member.id);
          return {
            member_id: member.id,
            message_id: state!.messageId,
            email: member.email,
            subscriber_key: member.subscriber_key,
            outcome: outcome.outcome,
            reason: outcome.reason,
            handled_at: outcome.at.toISOString(),
          };
        });
        await tx`insert into welcome_emails ${tx(rows)} on conflict (member_id) do nothing`;
      },
    }),
    sinks: [
      {
        name: "smtp",
        write: (changes: readonly Change<Handled, AugmentedMember>[]) =>
          forEachLimited(changes, config.EMAIL_CONCURRENCY * 2, ({ event }) => send(event)),
        close: async () => {
          transport.close();
          await producer.disconnect();
        },
      },
    ],
    // A member with a row (or already in this flush) is a duplicate.
    fold: (handled, member) => ({ state: handled ?? { messageId: welcomeMessageId(member.id, config.EMAIL_FROM) } }),
    partitionConcurrency: config.TOPIC_PARTITIONS,
    details: () => ({ ...stats }),
  };
}
