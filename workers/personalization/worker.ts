import { createRedis } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import {
  Beacon,
  CapturedUser,
  ContentOpened,
  EnrichedInteraction,
  Interaction,
  OpensWatermark,
  PopularInPartition,
  UserActivity,
} from "../../infra/platform/contracts/content.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { decodeByTopic, decodeTableRecord, decodeWith } from "../runtime/decode.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Decoded, Folded, InputRecord, Worker } from "../runtime/worker.ts";
import { type UserWindow, userActivityFold, userActivityIdle } from "./activity.ts";
import { contentViewFold, type ViewEvent, viewKey } from "./content-views.ts";
import { type EnrichEvent, type EnrichTopics, enrichFold, userIdOf } from "./enrich.ts";
import { type OpensRecord, popularContentFold } from "./popular.ts";
import { CONTENT_VIEWS, type ContentView } from "./view.ts";
import type { WindowState } from "./windows.ts";

/** Where the personalization stages read and write; tests point them at their own topics. */
export type PersonalizationTopics = EnrichTopics & { opens: string; userActivity: string; popular: string };

export const PERSONALIZATION_TOPICS: PersonalizationTopics = {
  users: TOPIC.usersCdc,
  beacons: TOPIC.beacons,
  interactions: TOPIC.interactions,
  activeUsers: TOPIC.activeUsersEnriched,
  interactionsEnriched: TOPIC.interactionsEnriched,
  impressions: TOPIC.impressions,
  opens: TOPIC.opens,
  userActivity: TOPIC.userActivity,
  popular: TOPIC.popular,
};

type Options = { name?: string; topics?: PersonalizationTopics };

const decodeUsers = decodeTableRecord(CapturedUser, "user_id");

/**
 * users.cdc + content.beacons + content.interactions -> active_users.enriched,
 * interactions.enriched, content.impressions (SPEC §2.5). All three inputs
 * are keyed by user_id with the same partition count, so a user's row and
 * events meet in one partition number; the users table lives in Redis as
 * this worker's state, one document per user.
 */
export function enrichWorker(
  config: Config,
  { name = "enrich", topics = PERSONALIZATION_TOPICS }: Options = {},
): Worker<EnrichEvent, CapturedUser> {
  const decode = decodeByTopic<EnrichEvent>({
    [topics.users]: (record) => {
      const decoded = decodeUsers(record);
      return decoded.ok
        ? { ok: true, event: { kind: "user", userId: decoded.event.id, user: decoded.event.row } }
        : decoded;
    },
    [topics.beacons]: decodeWith(Beacon, (beacon) => ({ kind: "beacon", beacon })),
    [topics.interactions]: decodeWith(Interaction, (interaction) => ({ kind: "interaction", interaction })),
  });
  return {
    name,
    inputs: [topics.users, topics.beacons, topics.interactions],
    outputs: [topics.activeUsers, topics.interactionsEnriched, topics.impressions],
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
    outputs,
    decode,
    fold,
    idle,
  }: {
    name: string;
    input: string;
    outputs: string[];
    decode(record: InputRecord): Decoded<E>;
    fold(state: WindowState<A> | undefined, event: E, lane: number, writtenAt: number): Folded<WindowState<A>>;
    /** How time passing on a quiet partition moves its windows (absent: only records move them). */
    idle?(state: WindowState<A> | undefined, now: number, lane: number): Folded<WindowState<A>>;
  },
): Worker<InLane<E>, WindowState<A>> {
  return {
    name,
    inputs: [input],
    outputs,
    decode: (record) => {
      const decoded = decode(record);
      return decoded.ok ? { ok: true, event: { lane: record.partition, event: decoded.event } } : decoded;
    },
    key: ({ lane }) => String(lane),
    store: redisStateStore<WindowState<A>>({
      redis: createRedis(config),
      namespace: `${name}:partition`,
      worker: name,
    }),
    fold: (state, { lane, event }, record) => fold(state, event, lane, record.writtenAt),
    ...(idle && { idle: { keys: (partition: number) => [String(partition)], fold: idle } }),
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

const windowSpec = (config: Config) => ({ sizeMs: config.CONTENT_WINDOW_MS, graceMs: config.CONTENT_GRACE_MS });

/** interactions.enriched -> content.user-activity (opens per user per window) and content.opens (the repartition by content). */
export function userActivityWorker(
  config: Config,
  { name = "user-activity", topics = PERSONALIZATION_TOPICS }: Options = {},
) {
  const activityTopics = {
    userActivity: topics.userActivity,
    opens: topics.opens,
    opensPartitions: config.TOPIC_PARTITIONS,
  };
  return windowedWorker<EnrichedInteraction, UserWindow>(config, {
    name,
    input: topics.interactionsEnriched,
    outputs: [topics.userActivity, topics.opens],
    decode: decodeWith(EnrichedInteraction),
    // content.opens has TOPIC_PARTITIONS partitions (declared topics default to it), each of which gets the watermarks.
    fold: userActivityFold(windowSpec(config), activityTopics),
    // A quiet stream still closes its latest window (and tells popular-content how far it got).
    idle: userActivityIdle(windowSpec(config), activityTopics),
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
export function popularContentWorker(
  config: Config,
  { name = "popular-content", topics = PERSONALIZATION_TOPICS }: Options = {},
) {
  return windowedWorker<OpensRecord, number>(config, {
    name,
    input: topics.opens,
    outputs: [topics.popular],
    decode: decodeOpens,
    fold: popularContentFold(windowSpec(config), {
      topic: topics.popular,
      topN: config.POPULAR_TOP_N,
      watermarks: { upstreamPartitions: config.TOPIC_PARTITIONS, idleMs: config.WATERMARK_IDLE_MS },
    }),
  });
}

/** content.user-activity + content.popular -> the Redis documents `GET /v1/users/:id/activity` and `GET /v1/content/popular` read. */
export function contentViewsWorker(
  config: Config,
  { name = CONTENT_VIEWS, topics = PERSONALIZATION_TOPICS }: Options = {},
): Worker<ViewEvent, ContentView> {
  return {
    name,
    inputs: [topics.userActivity, topics.popular],
    outputs: [],
    decode: decodeByTopic<ViewEvent>({
      [topics.userActivity]: decodeWith(UserActivity, (activity) => ({ kind: "activity", activity })),
      [topics.popular]: decodeWith(PopularInPartition, (popular) => ({ kind: "popular", popular })),
    }),
    key: viewKey,
    store: redisStateStore<ContentView>({ redis: createRedis(config), namespace: name, worker: name }),
    fold: contentViewFold,
    // content.popular has one partition, so the one `popular` document is only written from lane 0.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}
