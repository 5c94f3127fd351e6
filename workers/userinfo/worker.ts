import * as v from "valibot";
import type { Config } from "../../infra/platform/config.ts";
import { createOpenSearch, createRedis } from "../../infra/platform/clients.ts";
import { Id } from "../../infra/platform/contracts/fields.ts";
import { FOLLOWS_TOPIC, FollowEvent, LIKES_TOPIC, LikeEvent, TWEETS_TOPIC, TweetEvent, User, USERS_CHANGELOG_TOPIC } from "../../infra/platform/contracts/social.ts";
import { CountDelta, USERINFO_CHANGELOG_TOPIC, USERINFO_DELTAS_TOPIC } from "../../infra/platform/contracts/userinfo.ts";
import { decodeWith } from "../runtime/decode.ts";
import { openSearchSink } from "../runtime/sinks/opensearch.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Decoded, InputRecord, Worker } from "../runtime/worker.ts";
import { edgeFold, edgeKey, type Edge, type EdgeEvent } from "./edges.ts";
import { userInfoFold, type UserInfoEvent } from "./fold.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import { USERINFO_MAPPING, USERINFO_NAMESPACE, userInfoDocument, userInfoIndex, type UserInfoState } from "./view.ts";

/** Where the user information service reads and writes; tests point it at their own topics. */
export type UserInfoTopics = { tweets: string; follows: string; likes: string; users: string; deltas: string; changelog: string };
export const USERINFO_TOPICS: UserInfoTopics = {
  tweets: TWEETS_TOPIC,
  follows: FOLLOWS_TOPIC,
  likes: LIKES_TOPIC,
  users: USERS_CHANGELOG_TOPIC,
  deltas: USERINFO_DELTAS_TOPIC,
  changelog: USERINFO_CHANGELOG_TOPIC,
};

type Options = { name?: string; topics?: UserInfoTopics };

const decodeTweet = decodeWith(TweetEvent);
const decodeFollow = decodeWith(FollowEvent);
const decodeLike = decodeWith(LikeEvent);

const decodeEdge = (topics: UserInfoTopics) => (record: InputRecord): Decoded<EdgeEvent> => {
  const as = <K extends EdgeEvent["kind"]>(kind: K, decoded: Decoded<Extract<EdgeEvent, { kind: K }>["event"]>): Decoded<EdgeEvent> =>
    decoded.ok ? { ok: true, event: { kind, event: decoded.event } as EdgeEvent } : decoded;
  if (record.topic === topics.tweets) return as("tweet", decodeTweet(record));
  if (record.topic === topics.follows) return as("follow", decodeFollow(record));
  return as("like", decodeLike(record));
};

/**
 * social.tweets, social.follows, social.likes -> edge state -> count changes
 * on userinfo.deltas, keyed by the user each count belongs to (SPEC §3.3).
 */
export function socialEdgesWorker(config: Config, { name = "social-edges", topics = USERINFO_TOPICS }: Options = {}): Worker<EdgeEvent, Edge> {
  return {
    name,
    inputs: [topics.tweets, topics.follows, topics.likes],
    decode: decodeEdge(topics),
    key: edgeKey,
    store: redisStateStore<Edge>({ redis: createRedis(config), namespace: `${name}:edge`, worker: name }),
    fold: edgeFold(topics.deltas),
    // Each topic is keyed by what its edge key starts with, and the key
    // spaces of the three topics never meet.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

const decodeUser = decodeWith(User);
const decodeDelta = decodeWith(CountDelta);

const decodeUserInfoInput = (topics: UserInfoTopics) => (record: InputRecord): Decoded<UserInfoEvent> => {
  if (record.topic === topics.deltas) {
    const delta = decodeDelta(record);
    return delta.ok ? { ok: true, event: { kind: "delta", delta: delta.event } } : delta;
  }
  if (!v.is(Id, record.key)) return { ok: false, reason: "key: a users.changelog record needs the user_id as its key" };
  if (record.value === null) return { ok: true, event: { kind: "user", user_id: record.key, user: null } };
  const user = decodeUser(record);
  if (!user.ok) return user;
  if (user.event.user_id !== record.key) return { ok: false, reason: `user_id: ${user.event.user_id} differs from the record key ${record.key}` };
  return { ok: true, event: { kind: "user", user_id: record.key, user: user.event } };
};

/**
 * users.changelog + userinfo.deltas -> one user-info document per user, in
 * Redis (lookups), OpenSearch (search) and userinfo.changelog (SPEC §2.2).
 * Both inputs are keyed by user_id with the same partition count, so a
 * user's records meet in one partition number; the runner folds partition N
 * of both topics in turn, different partition numbers at once. The
 * documents are the view the API reads, whatever the worker's name.
 */
export function userInfoWorker(config: Config, { name = "userinfo", topics = USERINFO_TOPICS }: Options = {}): Worker<UserInfoEvent, UserInfoState> {
  return {
    name,
    inputs: [topics.users, topics.deltas],
    decode: decodeUserInfoInput(topics),
    key: (input) => keyOf(input.kind === "user" ? input.user_id : input.delta.user_id),
    store: redisStateStore<UserInfoState>({ redis: createRedis(config), namespace: USERINFO_NAMESPACE, worker: name }),
    sinks: [
      openSearchSink<UserInfoState>({
        client: createOpenSearch(config),
        index: userInfoIndex(config.INDEX_PREFIX),
        mappings: USERINFO_MAPPING,
        document: userInfoDocument,
      }),
    ],
    fold: userInfoFold(topics.changelog),
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}
