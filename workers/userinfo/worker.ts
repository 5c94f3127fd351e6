import * as v from "valibot";
import type { Config } from "../../infra/config.ts";
import { createOpenSearch, createRedis } from "../../infra/clients.ts";
import { Id } from "../../infra/contracts/fields.ts";
import { FOLLOWS_TOPIC, FollowEvent, LIKES_TOPIC, LikeEvent, TWEETS_TOPIC, TweetEvent, User, USERS_CHANGELOG_TOPIC } from "../../infra/contracts/social.ts";
import { CountDelta, USERINFO_DELTAS_TOPIC } from "../../infra/contracts/userinfo.ts";
import { decodeWith } from "../decode.ts";
import { openSearchSink } from "../sinks/opensearch.ts";
import { redisStateStore } from "../stores/redis-state.ts";
import type { Decoded, InputRecord, Worker } from "../worker.ts";
import { edgeKey, foldEdge, type Edge, type EdgeEvent } from "./edges.ts";
import { foldUserInfo, type UserInfoEvent } from "./fold.ts";
import { keyOf } from "../../infra/redis-keys.ts";
import { USERINFO_MAPPING, USERINFO_NAMESPACE, userInfoDocument, userInfoIndex, type UserInfoState } from "./userinfo.ts";

const decodeTweet = decodeWith(TweetEvent);
const decodeFollow = decodeWith(FollowEvent);
const decodeLike = decodeWith(LikeEvent);

function decodeEdge(record: InputRecord): Decoded<EdgeEvent> {
  const as = <K extends EdgeEvent["kind"]>(kind: K, decoded: Decoded<Extract<EdgeEvent, { kind: K }>["event"]>): Decoded<EdgeEvent> =>
    decoded.ok ? { ok: true, event: { kind, event: decoded.event } as EdgeEvent } : decoded;
  if (record.topic === TWEETS_TOPIC) return as("tweet", decodeTweet(record));
  if (record.topic === FOLLOWS_TOPIC) return as("follow", decodeFollow(record));
  return as("like", decodeLike(record));
}

/**
 * social.tweets, social.follows, social.likes -> edge state -> count changes
 * on userinfo.deltas, keyed by the user each count belongs to (SPEC §3.3).
 */
export function socialEdgesWorker(config: Config): Worker<EdgeEvent, Edge> {
  return {
    name: "social-edges",
    inputs: [TWEETS_TOPIC, FOLLOWS_TOPIC, LIKES_TOPIC],
    decode: decodeEdge,
    key: edgeKey,
    store: redisStateStore<Edge>({ redis: createRedis(config), namespace: "edge", worker: "social-edges" }),
    fold: foldEdge,
    // Each topic is keyed by what its edge key starts with, and the key
    // spaces of the three topics never meet.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

const decodeUser = decodeWith(User);
const decodeDelta = decodeWith(CountDelta);

function decodeUserInfoInput(record: InputRecord): Decoded<UserInfoEvent> {
  if (record.topic === USERINFO_DELTAS_TOPIC) {
    const delta = decodeDelta(record);
    return delta.ok ? { ok: true, event: { kind: "delta", delta: delta.event } } : delta;
  }
  if (!v.is(Id, record.key)) return { ok: false, reason: "key: a users.changelog record needs the user_id as its key" };
  if (record.value === null) return { ok: true, event: { kind: "user", user_id: record.key, user: null } };
  const user = decodeUser(record);
  if (!user.ok) return user;
  if (user.event.user_id !== record.key) return { ok: false, reason: `user_id: ${user.event.user_id} differs from the record key ${record.key}` };
  return { ok: true, event: { kind: "user", user_id: record.key, user: user.event } };
}

/**
 * users.changelog + userinfo.deltas -> one user-info document per user, in
 * Redis (lookups), OpenSearch (search) and userinfo.changelog (SPEC §2.2).
 * Both inputs are keyed by user_id with the same partition count, so a
 * user's records meet in one partition number; the runner folds partition N
 * of both topics in turn, different partition numbers at once.
 */
export function userInfoWorker(config: Config): Worker<UserInfoEvent, UserInfoState> {
  return {
    name: "userinfo",
    inputs: [USERS_CHANGELOG_TOPIC, USERINFO_DELTAS_TOPIC],
    decode: decodeUserInfoInput,
    key: (input) => keyOf(input.kind === "user" ? input.user_id : input.delta.user_id),
    store: redisStateStore<UserInfoState>({ redis: createRedis(config), namespace: USERINFO_NAMESPACE, worker: "userinfo" }),
    sinks: [
      openSearchSink<UserInfoState>({
        client: createOpenSearch(config),
        index: userInfoIndex(config.INDEX_PREFIX),
        mappings: USERINFO_MAPPING,
        document: userInfoDocument,
      }),
    ],
    fold: foldUserInfo,
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}
