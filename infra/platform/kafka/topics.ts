/**
 * Every topic the platform uses, declared once. `bun run stack up` (and every
 * start) applies this list idempotently: missing topics are created, drifted
 * configs are corrected. Partition counts default to TOPIC_PARTITIONS.
 */

export type TopicSpec = {
  name: string;
  cleanup: "delete" | "compact";
  /** -1 keeps records forever (the usual choice for compacted changelogs). */
  retentionMs: number;
  partitions?: number;
  replication?: number;
  description: string;
};

const DAY = 24 * 60 * 60 * 1000;
const RAW_RETENTION = 7 * DAY;
const DLQ_RETENTION = 14 * DAY;

/** A raw event topic and its dead-letter topic (SPEC §3.6). */
function withDeadLetters(spec: TopicSpec): TopicSpec[] {
  return [
    spec,
    { name: `${spec.name}.dlq`, cleanup: "delete", retentionMs: DLQ_RETENTION, description: `records of ${spec.name} that failed their contract, with the reason in headers` },
  ];
}

export const TOPICS: readonly TopicSpec[] = [
  ...withDeadLetters({ name: "clickstream.events", cleanup: "delete", retentionMs: RAW_RETENTION, description: "clickstream events, key user_id (SPEC §2.1)" }),
  ...withDeadLetters({ name: "actions.push", cleanup: "delete", retentionMs: RAW_RETENTION, description: "push actions to deliver (add_to_cart promotions), key user_id (SPEC §2.1)" }),
  ...withDeadLetters({ name: "commerce.clicks", cleanup: "delete", retentionMs: RAW_RETENTION, description: "product clicks, key user_id (SPEC §2.3)" }),
  ...withDeadLetters({ name: "commerce.checkouts", cleanup: "delete", retentionMs: RAW_RETENTION, description: "checkouts, key user_id (SPEC §2.3)" }),
  ...withDeadLetters({ name: "commerce.attributed", cleanup: "delete", retentionMs: RAW_RETENTION, description: "checkouts with their first click, corrections included, key user_id (SPEC §2.3)" }),
  ...withDeadLetters({ name: "users.changelog", cleanup: "compact", retentionMs: -1, description: "full user records, null deletes, key user_id (SPEC §2.2)" }),
  ...withDeadLetters({ name: "social.tweets", cleanup: "delete", retentionMs: RAW_RETENTION, description: "tweets created/deleted, key tweet_id (SPEC §2.2)" }),
  ...withDeadLetters({ name: "social.follows", cleanup: "delete", retentionMs: RAW_RETENTION, description: "follow/unfollow, key follower_id (SPEC §2.2)" }),
  ...withDeadLetters({ name: "social.likes", cleanup: "delete", retentionMs: RAW_RETENTION, description: "like/unlike, key user_id (SPEC §2.2)" }),
  // Repartitioned count changes: kept forever so `bun run rebuild userinfo` can replay them all.
  ...withDeadLetters({ name: "userinfo.deltas", cleanup: "delete", retentionMs: -1, description: "user-info count changes, key user_id (SPEC §2.2, repartition)" }),
  { name: "userinfo.changelog", cleanup: "compact", retentionMs: -1, description: "user-info documents, null when deleted, key user_id (SPEC §2.2)" },
  ...withDeadLetters({ name: "members.new", cleanup: "delete", retentionMs: RAW_RETENTION, description: "member signups captured from Postgres members, key member id (SPEC §2.4)" }),
  ...withDeadLetters({ name: "members.augmented", cleanup: "delete", retentionMs: RAW_RETENTION, description: "signups with their subscriber key, key member id (SPEC §2.4)" }),
  ...withDeadLetters({ name: "users.cdc", cleanup: "compact", retentionMs: -1, description: "users rows captured from Postgres, null when deleted, key user_id (SPEC §2.5)" }),
  ...withDeadLetters({ name: "content.beacons", cleanup: "delete", retentionMs: RAW_RETENTION, description: "active-user beacons, key user_id (SPEC §2.5)" }),
  ...withDeadLetters({ name: "content.interactions", cleanup: "delete", retentionMs: RAW_RETENTION, description: "content interactions, key user_id (SPEC §2.5)" }),
  ...withDeadLetters({ name: "active_users.enriched", cleanup: "delete", retentionMs: RAW_RETENTION, description: "beacons with the user's attributes, key user_id (SPEC §2.5)" }),
  ...withDeadLetters({ name: "interactions.enriched", cleanup: "delete", retentionMs: RAW_RETENTION, description: "interactions with the user's attributes, key user_id (SPEC §2.5)" }),
  ...withDeadLetters({ name: "content.impressions", cleanup: "delete", retentionMs: RAW_RETENTION, description: "enriched interactions liked or shared, key user_id (SPEC §2.5)" }),
  ...withDeadLetters({ name: "content.opens", cleanup: "delete", retentionMs: RAW_RETENTION, description: "opened interactions, key content_id (SPEC §2.5, repartition)" }),
  ...withDeadLetters({ name: "content.user-activity", cleanup: "delete", retentionMs: RAW_RETENTION, description: "content opened per user per window, key user_id (SPEC §2.5)" }),
  // One partition: results of every content.opens partition for a window meet in one place.
  ...withDeadLetters({ name: "content.popular", cleanup: "delete", retentionMs: RAW_RETENTION, partitions: 1, description: "top content per content.opens partition per window, key window start (SPEC §2.5)" }),
];
