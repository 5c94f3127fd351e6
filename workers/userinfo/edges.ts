import type { FollowEvent, LikeEvent, TweetEvent } from "../../infra/platform/contracts/social.ts";
import type { CountDelta, CountName } from "../../infra/platform/contracts/userinfo.ts";
import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import type { Folded, InputRecord } from "../runtime/worker.ts";

/**
 * Stage 1 of the user information service: the state of every edge (a tweet
 * exists, A follows B, U likes T), keyed the way its topic is, so a repeated
 * follow or like, an unfollow that was never a follow, or a second delete
 * changes nothing. Only a real change of an edge emits count changes, to
 * `userinfo.deltas`, keyed by the user each count belongs to.
 */

export type EdgeEvent =
  | { kind: "tweet"; event: TweetEvent }
  | { kind: "follow"; event: FollowEvent }
  | { kind: "like"; event: LikeEvent };

/** An edge that exists; for a tweet, who wrote it (a delete may not say). */
export type Edge = { author?: string };

export function edgeKey(edge: EdgeEvent): string {
  switch (edge.kind) {
    case "tweet":
      return keyOf("tweet", edge.event.tweet_id);
    case "follow":
      return keyOf("follow", edge.event.follower_id, edge.event.followee_id);
    case "like":
      return keyOf("like", edge.event.user_id, edge.event.tweet_id);
  }
}

function countChanges(
  topic: string,
  record: InputRecord,
  changes: [user: string, count: CountName, step: 1 | -1][],
): OutRecord[] {
  // One record per user, so a self-follow is one change of two counts.
  const byUser = new Map<string, CountDelta["changes"]>();
  for (const [user, count, step] of changes) byUser.set(user, { ...byUser.get(user), [count]: step });
  return [...byUser].map(([user_id, counts]) => ({
    topic,
    key: user_id,
    value: {
      user_id,
      changes: counts,
      source: `${record.topic}:${record.partition}`,
      source_offset: record.offset,
    } satisfies CountDelta,
  }));
}

/** The fold of stage 1, emitting count changes to `deltasTopic`. */
export const edgeFold =
  (deltasTopic: string) =>
  (edge: Edge | undefined, input: EdgeEvent, record: InputRecord): Folded<Edge> => {
    const exists = edge !== undefined;
    const deltas = (changes: [user: string, count: CountName, step: 1 | -1][]) =>
      countChanges(deltasTopic, record, changes);
    switch (input.kind) {
      case "tweet": {
        const { type, user_id } = input.event;
        if (type === "created" && !exists)
          return { state: { author: user_id }, emit: deltas([[user_id, "tweets", 1]]) };
        if (type === "deleted" && exists)
          return { state: null, emit: deltas([[edge.author ?? user_id, "tweets", -1]]) };
        return { state: edge ?? null };
      }
      case "follow": {
        const { type, follower_id, followee_id } = input.event;
        if (type === "follow" && !exists) {
          return {
            state: {},
            emit: deltas([
              [follower_id, "following", 1],
              [followee_id, "followers", 1],
            ]),
          };
        }
        if (type === "unfollow" && exists) {
          return {
            state: null,
            emit: deltas([
              [follower_id, "following", -1],
              [followee_id, "followers", -1],
            ]),
          };
        }
        return { state: edge ?? null };
      }
      case "like": {
        const { type, user_id } = input.event;
        if (type === "like" && !exists) return { state: {}, emit: deltas([[user_id, "likes", 1]]) };
        if (type === "unlike" && exists) return { state: null, emit: deltas([[user_id, "likes", -1]]) };
        return { state: edge ?? null };
      }
    }
  };
