import { createRedis } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { type AugmentedMember, MemberSignup } from "../../infra/platform/contracts/members.ts";
import { logger } from "../../infra/platform/log.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { circuitBreaker } from "../runtime/circuit-breaker.ts";
import { deadLetterEvent } from "../runtime/dead-letter.ts";
import { decodeWith } from "../runtime/decode.ts";
import { lazyProducer } from "../runtime/lazy-producer.ts";
import { backoffMs, forEachLimited } from "../runtime/retry.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Change, Worker } from "../runtime/worker.ts";
import { requestSubscriberKey } from "./subscriber-key.ts";

/** A member once handled (augmented or dead-lettered); kept longer than members.new keeps records. */
type Handled = true;
const HANDLED_TTL_SECONDS = 8 * 24 * 3600;

export type AugmenterStats = { augmented: number; retried: number; deadLettered: number; lastError: string | null };

/**
 * members.new -> members.augmented (SPEC §2.4): each new member's subscriber
 * key from SUBSCRIBER_KEY_URL, many members at once, each with a timeout and
 * retries (exponential backoff, full jitter). A circuit breaker stops all
 * calls while the service keeps failing and probes it after a cooldown;
 * calls it holds back, and its probes, do not count as a member's attempts.
 * A member whose calls fail KEY_SERVICE_MAX_ATTEMPTS times (or get an answer
 * that will never change) goes to members.new.dlq with the reason; the
 * others keep flowing. Signups that break the contract (no or a malformed
 * email) go to the DLQ by the runner, never to the key service.
 */
export function augmenterWorker(
  config: Config,
  { name = "augmenter", input = TOPIC.membersNew, output = TOPIC.membersAugmented } = {},
): Worker<MemberSignup, Handled> {
  const url = config.SUBSCRIBER_KEY_URL;
  if (!url) throw new Error("the augmenter needs SUBSCRIBER_KEY_URL (the subscriber-key service)");
  const log = logger(name);
  const producer = lazyProducer(config);
  const stats: AugmenterStats = { augmented: 0, retried: 0, deadLettered: 0, lastError: null };
  const breaker = circuitBreaker({
    failureThreshold: config.BREAKER_FAILURE_THRESHOLD,
    cooldownMs: config.BREAKER_COOLDOWN_MS,
    onChange: (state) => (state === "half-open" ? log.debug : log.warn)(`key service circuit ${state}`),
  });

  async function augment(member: MemberSignup): Promise<void> {
    let attempts = 0;
    for (;;) {
      const { result, probe } = await breaker.call(() =>
        requestSubscriberKey(url!, member.id, config.KEY_SERVICE_TIMEOUT_MS),
      );
      if (result.ok) {
        const augmented: AugmentedMember = { ...member, subscriber_key: result.subscriberKey };
        await producer.send([{ topic: output, key: member.id, value: augmented }]);
        stats.augmented++;
        return;
      }
      stats.lastError = `${new Date().toISOString()} member ${member.id}: ${result.reason}`;
      if (!probe) attempts++;
      if (!result.retryable || attempts >= config.KEY_SERVICE_MAX_ATTEMPTS) {
        stats.deadLettered++;
        const reason = `${result.reason} (after ${attempts} attempt${attempts === 1 ? "" : "s"})`;
        log.warn("member dead-lettered", { member: member.id, reason });
        await producer.send([deadLetterEvent(input, member.id, member, reason, name)]);
        return;
      }
      stats.retried++;
      await Bun.sleep(backoffMs(Math.max(1, attempts), config.KEY_SERVICE_BACKOFF_MS));
    }
  }

  return {
    name,
    inputs: [input],
    // Written by the worker itself once the key service answered, not emitted by a fold.
    outputs: [output],
    decode: decodeWith(MemberSignup),
    key: (member) => keyOf(member.id),
    store: redisStateStore<Handled>({
      redis: createRedis(config),
      namespace: `${name}:handled`,
      worker: name,
      ttlSeconds: HANDLED_TTL_SECONDS,
    }),
    sinks: [
      {
        name: "subscriber-keys",
        write: (changes: readonly Change<Handled, MemberSignup>[]) =>
          forEachLimited(changes, config.KEY_SERVICE_CONCURRENCY, ({ event }) => augment(event)),
        close: () => producer.disconnect(),
      },
    ],
    // A member already handled is a duplicate (the capture publishes at least once).
    fold: (handled) => ({ state: handled ?? true }),
    partitionConcurrency: config.TOPIC_PARTITIONS,
    details: () => ({ ...stats, breaker: { ...breaker.stats } }),
  };
}
