import type { User } from "../../platform/contracts/social.ts";
import type { OutRecord } from "../../platform/kafka/producer.ts";
import { TOPIC } from "../../platform/topology.ts";
import { random } from "./random.ts";

/**
 * Upstream services of a small social app (SPEC §2.2): users that sign up,
 * change their profile and sometimes delete and come back; tweets and their
 * deletions; follows, unfollows, likes and unlikes between known users and
 * tweets, with the repeats and stray undo events real clients send.
 * Each record is keyed as its topic's contract says. Deterministic per seed.
 */
export function socialGenerator(options: { users: number; seed: number; runId: string }) {
  const rand = random(options.seed);
  const pickIndex = (n: number) => Math.floor(rand() * n);
  const userId = (i: number) => `${options.runId}-u${i}`;
  const created = new Set<number>();
  const tweets: { id: string; author: string }[] = [];
  let sequence = 0;
  const cities = ["Berlin", "Lisbon", "Austin", "Osaka", "Nairobi", "Lima"];
  const words = ["coffee", "jazz", "rust", "hiking", "kafka", "gardening", "chess", "photography"];

  const user = (i: number): User => ({
    user_id: userId(i),
    username: `user${i}_${options.runId}`.slice(0, 64),
    name: `User ${i} ${pick(["Ada", "Grace", "Linus", "Barbara", "Ken"])}`,
    joined_at: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    bio: `I like ${pick(words)} and ${pick(words)}`,
    location: pick(cities),
  });
  function pick<T>(list: readonly T[]): T {
    return list[pickIndex(list.length)]!;
  }

  return {
    next(now = Date.now()): OutRecord {
      const occurred_at = new Date(now).toISOString();
      const r = rand();
      const someone = pickIndex(options.users);
      if (r < 0.12) {
        // Sign-up, profile change, or (rarely) delete.
        if (created.has(someone) && rand() < 0.1) {
          created.delete(someone);
          return { topic: TOPIC.usersChangelog, key: userId(someone), value: null };
        }
        created.add(someone);
        return { topic: TOPIC.usersChangelog, key: userId(someone), value: user(someone) };
      }
      if (r < 0.35) {
        if (tweets.length > 0 && rand() < 0.2) {
          const t = pick(tweets);
          return {
            topic: TOPIC.tweets,
            key: t.id,
            value: { type: "deleted", tweet_id: t.id, user_id: t.author, occurred_at },
          };
        }
        const t =
          rand() < 0.05 && tweets.length > 0
            ? pick(tweets)
            : { id: `${options.runId}-t${sequence++}`, author: userId(someone) };
        tweets.push(t);
        return {
          topic: TOPIC.tweets,
          key: t.id,
          value: { type: "created", tweet_id: t.id, user_id: t.author, occurred_at, text: `about ${pick(words)}` },
        };
      }
      if (r < 0.7) {
        const followee = userId(pickIndex(options.users));
        const type = rand() < 0.7 ? "follow" : "unfollow";
        return {
          topic: TOPIC.follows,
          key: userId(someone),
          value: { type, follower_id: userId(someone), followee_id: followee, occurred_at },
        };
      }
      const tweet = tweets.length > 0 ? pick(tweets).id : `${options.runId}-t-none`;
      const type = rand() < 0.7 ? "like" : "unlike";
      return {
        topic: TOPIC.likes,
        key: userId(someone),
        value: { type, user_id: userId(someone), tweet_id: tweet, occurred_at },
      };
    },
  };
}
