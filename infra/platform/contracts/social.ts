import * as v from "valibot";
import { contract, Id, optionalText, Text, Timestamp } from "./fields.ts";

/** The user information service's upstream topics (SPEC §2.2, §8). */

/** `users.changelog` (compacted), key user_id: the full user; a null value (tombstone) deletes it. */
export const User = contract({
  user_id: Id,
  username: Text(64, { nonEmpty: true }),
  name: Text(256),
  joined_at: Timestamp,
  bio: optionalText(1024),
  location: optionalText(256),
  url: optionalText(),
  profile_image_url: optionalText(),
  background_image_url: optionalText(),
});
export type User = v.InferOutput<typeof User>;

/** `social.tweets`, key tweet_id. */
export const TweetEvent = contract({
  type: v.picklist(["created", "deleted"], "expected created or deleted"),
  tweet_id: Id,
  user_id: Id,
  occurred_at: Timestamp,
  text: optionalText(4096),
});
export type TweetEvent = v.InferOutput<typeof TweetEvent>;

/** `social.follows`, key follower_id. */
export const FollowEvent = contract({
  type: v.picklist(["follow", "unfollow"], "expected follow or unfollow"),
  follower_id: Id,
  followee_id: Id,
  occurred_at: Timestamp,
});
export type FollowEvent = v.InferOutput<typeof FollowEvent>;

/** `social.likes`, key user_id. */
export const LikeEvent = contract({
  type: v.picklist(["like", "unlike"], "expected like or unlike"),
  user_id: Id,
  tweet_id: Id,
  occurred_at: Timestamp,
});
export type LikeEvent = v.InferOutput<typeof LikeEvent>;
