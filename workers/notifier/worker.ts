import { createRedis } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { PushAction } from "../../infra/platform/contracts/actions.ts";
import type { Producer } from "../../infra/platform/kafka/producer.ts";
import { logger } from "../../infra/platform/log.ts";
import { documentKey, type RedisClient } from "../../infra/platform/redis-keys.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { deadLetterEvent } from "../runtime/dead-letter.ts";
import { decodeWith } from "../runtime/decode.ts";
import { lazyProducer } from "../runtime/lazy-producer.ts";
import { forEachLimited, withRetries } from "../runtime/retry.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Change, Sink, Worker } from "../runtime/worker.ts";
import { actionKey, postAction } from "./deliver.ts";

/** An action once handled (delivered or dead-lettered); kept a little longer than the topic keeps records. */
type Handled = true;
const HANDLED_TTL_SECONDS = 8 * 24 * 3600;
const HANDLED_NAMESPACE = "push:handled";

export type NotifierStats = { delivered: number; retried: number; deadLettered: number };

/**
 * Delivers each new action to the webhook, many at once, each with its own
 * retries; an action that keeps failing goes to actions.push.dlq with the
 * reason while the others are delivered. Right after a success the action is
 * marked handled, so neither a replay nor a crash before the offset commit
 * sends it again.
 */
function webhookSink(
  config: Config & { PUSH_WEBHOOK_URL: string },
  redis: RedisClient,
  producer: Producer,
  stats: NotifierStats,
): Sink<Handled, PushAction> {
  const log = logger("notifier");
  return {
    name: "webhook",
    async write(changes: readonly Change<Handled, PushAction>[], partition?: number) {
      if (partition === undefined)
        throw new Error("the webhook sink marks what it delivered per partition: it cannot trail");
      await forEachLimited(changes, config.PUSH_CONCURRENCY, async ({ event: action }) => {
        const result = await withRetries((_) => postAction(config.PUSH_WEBHOOK_URL, action, config.PUSH_TIMEOUT_MS), {
          maxAttempts: config.PUSH_MAX_ATTEMPTS,
          baseMs: config.PUSH_BACKOFF_MS,
          onRetry: () => void stats.retried++,
        });
        if (result.ok) {
          stats.delivered++;
          await redis.set(
            documentKey(HANDLED_NAMESPACE, actionKey(action), partition),
            "true",
            "EX",
            HANDLED_TTL_SECONDS,
          );
          return;
        }
        stats.deadLettered++;
        log.warn("push action dead-lettered", {
          action_id: action.action_id,
          attempts: result.attempts,
          reason: result.reason,
        });
        await producer.send([
          deadLetterEvent(
            TOPIC.pushActions,
            action.user_id,
            action,
            `${result.reason} (after ${result.attempts} attempts)`,
            "notifier",
          ),
        ]);
      });
    },
    close: () => producer.disconnect(),
  };
}

export function notifierWorker(
  config: Config,
  stats: NotifierStats = { delivered: 0, retried: 0, deadLettered: 0 },
): Worker<PushAction, Handled> {
  const url = config.PUSH_WEBHOOK_URL;
  if (!url) throw new Error("the notifier needs PUSH_WEBHOOK_URL (where to POST push actions)");
  const redis = createRedis(config);
  // Created here so the sink owns it; connected on first use.
  const producer = lazyProducer(config);
  return {
    name: "notifier",
    inputs: [TOPIC.pushActions],
    outputs: [],
    decode: decodeWith(PushAction),
    key: actionKey,
    store: redisStateStore<Handled>({
      redis,
      namespace: HANDLED_NAMESPACE,
      worker: "notifier",
      ttlSeconds: HANDLED_TTL_SECONDS,
    }),
    sinks: [webhookSink({ ...config, PUSH_WEBHOOK_URL: url }, redis, producer, stats)],
    // A known action id is a duplicate: leave it alone.
    fold: (handled) => ({ state: handled ?? true }),
    // An action appears in one partition only (keyed by its user).
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}
