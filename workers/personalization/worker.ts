import type { Config } from "../../infra/platform/config.ts";
import { createRedis } from "../../infra/platform/clients.ts";
import {
  ACTIVE_USERS_ENRICHED_TOPIC,
  Beacon,
  BEACONS_TOPIC,
  CapturedUser,
  ContentOpened,
  EnrichedInteraction,
  OpensWatermark,
  IMPRESSIONS_TOPIC,
  Interaction,
  INTERACTIONS_ENRICHED_TOPIC,
  INTERACTIONS_TOPIC,
  OPENS_BY_CONTENT_TOPIC,
  PopularInPartition,
  POPULAR_CONTENT_TOPIC,
  USER_ACTIVITY_TOPIC,
  UserActivity,
  USERS_CDC_TOPIC,
} from "../../infra/platform/contracts/content.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import { decodeWith } from "../runtime/decode.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Decoded, Folded, InputRecord, Worker } from "../runtime/worker.ts";
import { userActivityFold, type UserWindow } from "./activity.ts";
import { enrichFold, userIdOf, type EnrichEvent, type EnrichTopics } from "./enrich.ts";
import { popularContentFold, type OpensRecord } from "./popular.ts";
import { contentViewFold, viewKey, type ViewEvent } from "./content-views.ts";
import { CONTENT_VIEWS, type ContentView } from "./view.ts";
import type { WindowState } from "./windows.ts";

/** Where the personalization stages read and write; tests point them at their own topics. */
export type PersonalizationTopics = EnrichTopics & { opens: string; userActivity: string; popular: string };

export const PERSONALIZATION_TOPICS: PersonalizationTopics = {
  users: USERS_CDC_TOPIC,
  beacons: BEACONS_TOPIC,
  interactions: INTERACTIONS_TOPIC,
  activeUsers: ACTIVE_USERS_ENRICHED_TOPIC,
  interactionsEnriched: INTERACTIONS_ENRICHED_TOPIC,
  impressions: IMPRESSIONS_TOPIC,
  opens: OPENS_BY_CONTENT_TOPIC,
  userActivity: USER_ACTIVITY_TOPIC,
  popular: POPULAR_CONTENT_TOPIC,
};

type Options = { name?: string; topics?: PersonalizationTopics };

const decodeUser = decodeWith(CapturedUser);
const decodeBeacon = decodeWith(Beacon);
const decodeInteraction = decodeWith(Interaction);

/**
 * users.cdc + content.beacons + content.interactions -> active_users.enriched,
 * interactions.enriched, content.impressions (SPEC §2.5). All three inputs
 * are keyed by user_id with the same partition count, so a user's row and
 * events meet in one partition number; the users table lives in Redis as
 * this worker's state, one document per user.
 */
export function enrichWorker(config: Config, { name = "enrich", topics = PERSONALIZATION_TOPICS }: Options = {}): Worker<EnrichEvent, CapturedUser> {
  const decode = (record: InputRecord): Decoded<EnrichEvent> => {
    if (record.topic === topics.users) {
      if (record.key === null) return { ok: false, reason: "users.cdc record without a key (the user_id)" };
      if (record.value === null) return { ok: true, event: { kind: "user", userId: record.key, user: null } };
      const user = decodeUser(record);
      if (!user.ok) return user;
      if (user.event.user_id !== record.key) return { ok: false, reason: `user_id ${user.event.user_id} does not match the record key ${record.key}` };
      return { ok: true, event: { kind: "user", userId: record.key, user: user.event } };
    }
    if (record.topic === topics.beacons) {
      const beacon = decodeBeacon(record);
      return beacon.ok ? { ok: true, event: { kind: "beacon", beacon: beacon.event } } : beacon;
    }
    const interaction = decodeInteraction(record);
    return interaction.ok ? { ok: true, event: { kind: "interaction", interaction: interaction.event } } : interaction;
  };
  return {
    name,
    inputs: [topics.users, topics.beacons, topics.interactions],
    decode,
    key: (event) => keyOf(userIdOf(event)),
    store: redisStateStore<CapturedUser>({ redis: createRedis(config), namespace: `${name}:user`, worker: name }),
    fold: enrichFold(topics),
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

/**
 * A windowed stage keeps one state per input partition (its windows and
 * stream time), so the key is the partition the record came from.
 */
type InLane<E> = { lane: number; event: E };

function windowedWorker<E, A>(
  config: Config,
  {
    name,
    input,
    decode,
    fold,
  }: { name: string; input: string; decode(record: InputRecord): Decoded<E>; fold(state: WindowState<A> | undefined, event: E, lane: number, writtenAt: number): Folded<WindowState<A>> },
): Worker<InLane<E>, WindowState<A>> {
  return {
    name,
    inputs: [input],
    decode: (record) => {
      const decoded = decode(record);
      return decoded.ok ? { ok: true, event: { lane: record.partition, event: decoded.event } } : decoded;
    },
    key: ({ lane }) => String(lane),
    store: redisStateStore<WindowState<A>>({ redis: createRedis(config), namespace: `${name}:partition`, worker: name }),
    fold: (state, { lane, event }, record) => fold(state, event, lane, record.writtenAt),
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

const windowSpec = (config: Config) => ({ sizeMs: config.CONTENT_WINDOW_MS, graceMs: config.CONTENT_GRACE_MS });

/** interactions.enriched -> content.user-activity (opens per user per window) and content.opens (the repartition by content). */
export function userActivityWorker(config: Config, { name = "user-activity", topics = PERSONALIZATION_TOPICS }: Options = {}) {
  return windowedWorker<EnrichedInteraction, UserWindow>(config, {
    name,
    input: topics.interactionsEnriched,
    decode: decodeWith(EnrichedInteraction),
    // content.opens has TOPIC_PARTITIONS partitions (declared topics default to it), each of which gets the watermarks.
    fold: userActivityFold(windowSpec(config), { userActivity: topics.userActivity, opens: topics.opens, opensPartitions: config.TOPIC_PARTITIONS }),
  });
}

const decodeOpened = decodeWith(ContentOpened);
const decodeWatermark = decodeWith(OpensWatermark);

/** An open, or (no content_id) an upstream partition's watermark alone. */
function decodeOpens(record: InputRecord): Decoded<OpensRecord> {
  const open = decodeOpened(record);
  if (open.ok) return { ok: true, event: { kind: "open", open: open.event } };
  const mark = record.key === null ? decodeWatermark(record) : undefined;
  return mark?.ok ? { ok: true, event: { kind: "watermark", mark: mark.event } } : open;
}

/**
 * content.opens -> content.popular (each partition's top N per window), on
 * the least watermark of interactions.enriched's TOPIC_PARTITIONS partitions
 * (those user-activity folds).
 */
export function popularContentWorker(config: Config, { name = "popular-content", topics = PERSONALIZATION_TOPICS }: Options = {}) {
  return windowedWorker<OpensRecord, number>(config, {
    name,
    input: topics.opens,
    decode: decodeOpens,
    fold: popularContentFold(windowSpec(config), {
      topic: topics.popular,
      topN: config.POPULAR_TOP_N,
      watermarks: { upstreamPartitions: config.TOPIC_PARTITIONS, idleMs: config.WATERMARK_IDLE_MS },
    }),
  });
}

const decodeActivity = decodeWith(UserActivity);
const decodePopular = decodeWith(PopularInPartition);

/** content.user-activity + content.popular -> the Redis documents `GET /v1/users/:id/activity` and `GET /v1/content/popular` read. */
export function contentViewsWorker(config: Config, { name = CONTENT_VIEWS, topics = PERSONALIZATION_TOPICS }: Options = {}): Worker<ViewEvent, ContentView> {
  return {
    name,
    inputs: [topics.userActivity, topics.popular],
    decode: (record) => {
      if (record.topic === topics.popular) {
        const popular = decodePopular(record);
        return popular.ok ? { ok: true, event: { kind: "popular", popular: popular.event } } : popular;
      }
      const activity = decodeActivity(record);
      return activity.ok ? { ok: true, event: { kind: "activity", activity: activity.event } } : activity;
    },
    key: viewKey,
    store: redisStateStore<ContentView>({ redis: createRedis(config), namespace: name, worker: name }),
    fold: contentViewFold,
    // content.popular has one partition, so the one `popular` document is only written from lane 0.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}
