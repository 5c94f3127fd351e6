import type { User } from "../../infra/platform/contracts/social.ts";
import type { CountName } from "../../infra/platform/contracts/userinfo.ts";
import { type Partitions, partitionOf } from "../../infra/platform/kafka/partitioner.ts";
import { documentKey, keyOf, responseKey } from "../../infra/platform/redis-keys.ts";
import type { SourceOffsets } from "../runtime/source-offsets.ts";

/** The user-info document (SPEC §2.2): the user's fields plus their counts. */
export type UserInfo = User & Record<CountName, number>;

/** What the userinfo worker keeps per user. */
export type UserInfoState = {
  /** The latest changelog record; null once deleted (the counts stay). */
  user: User | null;
  counts: Record<CountName, number>;
  /** Per source topic-partition, the newest source offset applied: replays are recognised. */
  applied: SourceOffsets;
};

export const USERINFO_NAMESPACE = "userinfo";
/** Under the partition (of `partitions`) that holds the user's records: the inputs are all keyed by user_id. */
export const userInfoKey = (userId: string, { partitions }: Partitions) =>
  documentKey(USERINFO_NAMESPACE, keyOf(userId), partitionOf(userId, partitions));
/** Where the worker stores `userInfoDocument` ready to send (infra/platform/stored-response.ts). */
export const userInfoResponseKey = (userId: string, { partitions }: Partitions) =>
  responseKey(USERINFO_NAMESPACE, keyOf(userId), partitionOf(userId, partitions));
export const userInfoIndex = (prefix: string) => `${prefix}userinfo`;

/** The document to serve, or null while the user does not exist. */
export const userInfoDocument = (state: UserInfoState): UserInfo | null =>
  state.user ? { ...state.user, ...state.counts } : null;

export const USERINFO_MAPPING = {
  dynamic: "strict",
  properties: {
    user_id: { type: "keyword" },
    username: { type: "text", fields: { raw: { type: "keyword" } } },
    name: { type: "text" },
    bio: { type: "text" },
    location: { type: "text" },
    url: { type: "keyword", index: false },
    joined_at: { type: "date" },
    profile_image_url: { type: "keyword", index: false },
    background_image_url: { type: "keyword", index: false },
    tweets: { type: "long" },
    following: { type: "long" },
    followers: { type: "long" },
    likes: { type: "long" },
  },
} as const;
