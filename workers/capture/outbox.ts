import { createSql } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { createProducer } from "../../infra/platform/kafka/producer.ts";
import { logger } from "../../infra/platform/log.ts";
import { TOPIC_PREFIX } from "../../infra/platform/topology.ts";
import { backoffMs } from "../runtime/retry.ts";
import type { Running } from "../runtime/runner.ts";

/** The channel the capture triggers NOTIFY (db/migrations/0005_capture_triggers.sql). */
export const OUTBOX_CHANNEL = "cdc_outbox";
const BATCH = 1000;
/** Held while draining: one capture process publishes at a time, so each key keeps its order. */
const DRAIN_LOCK = 7316202612;

export type CaptureStats = {
  published: number;
  batches: number;
  retried: number;
  lastError: string | null;
  lastPublishedAt: string | null;
};

type OutboxRow = { id: string; topic: string; key: string; payload: unknown };

/**
 * The capture worker: publishes `cdc_outbox` rows to their topics in id order
 * (named with TOPIC_PREFIX, as every topic is) and deletes them in the same
 * transaction, after the broker acknowledged
 * them (acks=all). It drains at start, on every NOTIFY and when its LISTEN
 * connection comes back; it never polls. A crash before the commit leaves
 * the rows, so they are published again (at least once; consumers dedupe by
 * key). A failed drain is retried with backoff.
 */
export async function startOutboxCapture(config: Config, { name = "capture" } = {}): Promise<Running<CaptureStats>> {
  const log = logger(name);
  const sql = createSql(config, 2);
  const producer = await createProducer(config);
  const stats: CaptureStats = { published: 0, batches: 0, retried: 0, lastError: null, lastPublishedAt: null };
  let stopped = false;

  /** One transaction: take the lock, publish a batch, delete it. Undefined: another process is draining. */
  const publishBatch = () =>
    sql.begin(async (tx) => {
      const [lock] = await tx<{ held: boolean }[]>`select pg_try_advisory_xact_lock(${DRAIN_LOCK}) as held`;
      if (!lock!.held) return undefined;
      const rows = await tx<
        OutboxRow[]
      >`select id::text, topic, key, payload from cdc_outbox order by id limit ${BATCH}`;
      if (rows.length === 0) return 0;
      await producer.send(
        rows.map((row) => ({ topic: `${TOPIC_PREFIX}${row.topic}`, key: row.key, value: row.payload })),
      );
      await tx`delete from cdc_outbox where id = any(${rows.map((row) => row.id)}::bigint[])`;
      return rows.length;
    });

  async function drain() {
    for (;;) {
      if (stopped) return;
      const published = await publishBatch();
      if (published === undefined) {
        // Another capture process holds the lock; look again once it is done.
        await Bun.sleep(50);
        continue;
      }
      if (published > 0) {
        stats.published += published;
        stats.batches++;
        stats.lastPublishedAt = new Date().toISOString();
      }
      if (published < BATCH) return;
    }
  }

  let draining: Promise<void> | undefined;
  let again = false;
  let failures = 0;
  const wake = () => {
    if (draining) {
      again = true;
      return;
    }
    draining = (async () => {
      do {
        again = false;
        await drain();
      } while (again && !stopped);
    })()
      .then(() => {
        failures = 0;
      })
      .catch((error: Error) => {
        failures++;
        stats.retried++;
        stats.lastError = `${new Date().toISOString()} ${error.message}`;
        log.warn("drain failed; retrying", { error: error.message, attempt: failures });
        if (!stopped) setTimeout(wake, backoffMs(failures, 200, 10_000) + 50);
      })
      .finally(() => {
        draining = undefined;
      });
  };

  // The third argument runs on every (re)connect of the LISTEN connection:
  // anything committed while it was away is drained then.
  const listening = await sql.listen(OUTBOX_CHANNEL, wake, wake);
  log.info("running", { channel: OUTBOX_CHANNEL });

  return {
    name,
    stats,
    async stop() {
      stopped = true;
      await listening.unlisten();
      await draining;
      await producer.disconnect();
      await sql.end({ timeout: 5 });
      log.info("stopped", { ...stats });
    },
  };
}
