import { createRedis, createSql } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { Attribution, Checkout, Click } from "../../infra/platform/contracts/commerce.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { decodeWith } from "../runtime/decode.ts";
import { postgresStateStore } from "../runtime/stores/postgres-state.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Decoded, InputRecord, Worker } from "../runtime/worker.ts";
import { ATTRIBUTION_WINDOW_MS, type AttributionState, attributionFold, type CommerceEvent } from "./fold.ts";
import { keepEarliestClick, loadRowClicks, type RowClick, writeAttributedCheckouts } from "./table.ts";

/** Where the stages read and write; tests point them at their own topics. */
export type AttributionTopics = { clicks: string; checkouts: string; attributed: string };
export const ATTRIBUTION_TOPICS: AttributionTopics = {
  clicks: TOPIC.clicks,
  checkouts: TOPIC.checkouts,
  attributed: TOPIC.attributed,
};

const decodeClick = decodeWith(Click);
const decodeCheckout = decodeWith(Checkout);

/**
 * commerce.clicks + commerce.checkouts -> commerce.attributed (SPEC §2.3).
 * Both inputs are keyed by user_id with the same partition count, so a
 * user's clicks and checkouts meet in one partition number: one process gets
 * both (the co-partitioned assignor) and folds their chunks in turn, while
 * different partition numbers fold at once. State per user lives in Redis;
 * a user idle for twice the window plus the allowance is forgotten.
 */
export function attributionWorker(
  config: Config,
  { name = "attribution", topics = ATTRIBUTION_TOPICS } = {},
): Worker<CommerceEvent, AttributionState> {
  const decode = (record: InputRecord): Decoded<CommerceEvent> => {
    if (record.topic === topics.clicks) {
      const click = decodeClick(record);
      return click.ok ? { ok: true, event: { kind: "click", click: click.event } } : click;
    }
    const checkout = decodeCheckout(record);
    return checkout.ok ? { ok: true, event: { kind: "checkout", checkout: checkout.event } } : checkout;
  };
  const forgetAfterSeconds = Math.ceil((2 * (ATTRIBUTION_WINDOW_MS + config.CLICK_LATENESS_MS)) / 1000);
  return {
    name,
    inputs: [topics.clicks, topics.checkouts],
    outputs: [topics.attributed],
    decode,
    key: (event) => keyOf(event.kind === "click" ? event.click.user_id : event.checkout.user_id),
    eventTime: (event) => Date.parse(event.kind === "click" ? event.click.occurred_at : event.checkout.occurred_at),
    store: redisStateStore<AttributionState>({
      redis: createRedis(config),
      namespace: name,
      worker: name,
      ttlSeconds: forgetAfterSeconds,
    }),
    fold: attributionFold({
      clicksTopic: topics.clicks,
      checkoutsTopic: topics.checkouts,
      attributedTopic: topics.attributed,
      allowanceMs: config.CLICK_LATENESS_MS,
    }),
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

/**
 * commerce.attributed -> Postgres attributed_checkouts, one row per
 * checkout_id with the user as of the checkout, rows and offsets in one
 * transaction. A user's attributions stay in one partition, so partitions
 * are written concurrently.
 */
export function attributedCheckoutsWorker(
  config: Config,
  { name = "attributed-checkouts", topic = TOPIC.attributed } = {},
): Worker<Attribution, RowClick> {
  return {
    name,
    inputs: [topic],
    outputs: [],
    decode: decodeWith(Attribution),
    key: (attribution) => attribution.checkout.checkout_id,
    store: postgresStateStore<RowClick, Attribution>({
      sql: createSql(config, 4),
      worker: name,
      loadStates: loadRowClicks,
      writeChanges: writeAttributedCheckouts,
      dropRows: async (tx) => void (await tx`truncate attributed_checkouts`),
    }),
    fold: keepEarliestClick,
    partitionConcurrency: 4,
  };
}
