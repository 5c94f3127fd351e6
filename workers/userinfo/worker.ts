import { createOpenSearch, createRedis } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { FollowEvent, LikeEvent, TweetEvent, User } from "../../infra/platform/contracts/social.ts";
import { CountDelta } from "../../infra/platform/contracts/userinfo.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { decodeByTopic, decodeTableRecord, decodeWith } from "../runtime/decode.ts";
import { openSearchSink } from "../runtime/sinks/opensearch.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Worker } from "../runtime/worker.ts";
import { type Edge, type EdgeEvent, edgeFold, edgeKey } from "./edges.ts";
import { type UserInfoEvent, userInfoFold } from "./fold.ts";
import { USERINFO_MAPPING, USERINFO_NAMESPACE, type UserInfoState, userInfoDocument, userInfoIndex } from "./view.ts";

/** Where the user information service reads and writes; tests point it at their own topics. */
export type UserInfoTopics = {
  tweets: string;
  follows: string;
  likes: string;
  users: string;
  deltas: string;
  changelog: string;
};
export const USERINFO_TOPICS: UserInfoTopics = {
  tweets: TOPIC.tweets,
  follows: TOPIC.follows,
  likes: TOPIC.likes,
  users: TOPIC.usersChangelog,
  deltas: TOPIC.userinfoDeltas,
  changelog: TOPIC.userinfoChangelog,
};

type Options = { name?: string; topics?: UserInfoTopics };

const decodeEdge = (topics: UserInfoTopics) =>
  decodeByTopic<EdgeEvent>({
    [topics.tweets]: decodeWith(TweetEvent, (event) => ({ kind: "tweet", event })),
    [topics.follows]: decodeWith(FollowEvent, (event) => ({ kind: "follow", event })),
    [topics.likes]: decodeWith(LikeEvent, (event) => ({ kind: "like", event })),
  });

/**
 * social.tweets, social.follows, social.likes -> edge state -> count changes
 * on userinfo.deltas, keyed by the user each count belongs to (SPEC §3.3).
 */
export function socialEdgesWorker(
  config: Config,
  { name = "social-edges", topics = USERINFO_TOPICS }: Options = {},
): Worker<EdgeEvent, Edge> {
  return {
    name,
    inputs: [topics.tweets, topics.follows, topics.likes],
    outputs: [topics.deltas],
    decode: decodeEdge(topics),
    key: edgeKey,
    store: redisStateStore<Edge>({ redis: createRedis(config), namespace: `${name}:edge`, worker: name }),
    fold: edgeFold(topics.deltas),
    // Each topic is keyed by what its edge key starts with, and the key
    // spaces of the three topics never meet.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

const decodeUserInfoInput = (topics: UserInfoTopics) =>
  decodeByTopic<UserInfoEvent>({
    [topics.deltas]: decodeWith(CountDelta, (delta) => ({ kind: "delta", delta })),
    [topics.users]: (record) => {
      const decoded = decodeUsers(record);
      return decoded.ok
        ? { ok: true, event: { kind: "user", user_id: decoded.event.id, user: decoded.event.row } }
        : decoded;
    },
  });
const decodeUsers = decodeTableRecord(User, "user_id");

/**
 * users.changelog + userinfo.deltas -> one user-info document per user, in
 * Redis (lookups), OpenSearch (search) and userinfo.changelog (SPEC §2.2).
 * Both inputs are keyed by user_id with the same partition count, so a
 * user's records meet in one partition number; the runner folds partition N
 * of both topics in turn, different partition numbers at once. The
 * documents are the view the API reads, whatever the worker's name.
 */
export function userInfoWorker(
  config: Config,
  { name = "userinfo", topics = USERINFO_TOPICS }: Options = {},
): Worker<UserInfoEvent, UserInfoState> {
  return {
    name,
    inputs: [topics.users, topics.deltas],
    outputs: [topics.changelog],
    decode: decodeUserInfoInput(topics),
    key: (input) => keyOf(input.kind === "user" ? input.user_id : input.delta.user_id),
    store: redisStateStore<UserInfoState>({
      redis: createRedis(config),
      namespace: USERINFO_NAMESPACE,
      worker: name,
      response: userInfoDocument,
    }),
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
