import type * as v from "valibot";
import { PushAction } from "./contracts/actions.ts";
import { ClickstreamEvent } from "./contracts/clickstream.ts";
import { Attribution, Checkout, Click } from "./contracts/commerce.ts";
import {
  Beacon,
  CapturedUser,
  ContentOpened,
  EnrichedBeacon,
  EnrichedInteraction,
  Interaction,
  PopularInPartition,
  UserActivity,
} from "./contracts/content.ts";
import { IdentityChange, IdentityLink } from "./contracts/identity.ts";
import { AugmentedMember, MemberSignup } from "./contracts/members.ts";
import { PersonMember } from "./contracts/profiles.ts";
import { FollowEvent, LikeEvent, TweetEvent, User } from "./contracts/social.ts";
import { CountDelta } from "./contracts/userinfo.ts";

/**
 * The pipelines' shape, declared once: every topic (name, contract, key,
 * partitions, retention), every worker's inputs and outputs, and every view
 * the API reads. Topic and dead-letter names, the topics `stack up` creates,
 * what `bun run rebuild --all` folds again and `bun run workers --describe`
 * all come from here; test/topology.test.ts checks the code against it.
 */

const DAY = 24 * 60 * 60 * 1000;
const RAW_RETENTION = 7 * DAY;
const DLQ_RETENTION = 14 * DAY;

/**
 * Prepended to every topic name, read once per process, so a test run
 * (`test.`) or the bench never reads or writes a developer's topics. The
 * same setting is validated with the rest in config.ts.
 */
export const TOPIC_PREFIX_PATTERN = /^[A-Za-z0-9._-]*$/;
function topicPrefix(): string {
  const prefix = (process.env.TOPIC_PREFIX ?? "").trim();
  if (!TOPIC_PREFIX_PATTERN.test(prefix))
    throw new Error(`TOPIC_PREFIX: expected letters, digits, '.', '_' or '-' (got ${JSON.stringify(prefix)})`);
  return prefix;
}
export const TOPIC_PREFIX = topicPrefix();

export type TopicDeclaration = {
  /** The name without TOPIC_PREFIX. */
  name: string;
  /** The value's contract; null for a tombstone where the key is deleted. */
  contract: v.GenericSchema;
  /** What the record key is: records with one key stay in order in one partition. */
  key: string;
  cleanup: "delete" | "compact";
  /** -1 keeps records forever (compacted changelogs, a repartition a rebuild replays). */
  retentionMs: number;
  /** Fixed partition count; otherwise TOPIC_PARTITIONS. */
  partitions?: number;
  /** Whether records that fail their contract (or a sink refuses) go to `<name>.dlq`. */
  deadLetters: boolean;
  description: string;
};

const raw = (
  d: Omit<TopicDeclaration, "cleanup" | "retentionMs" | "deadLetters"> & Partial<TopicDeclaration>,
): TopicDeclaration => ({
  cleanup: "delete",
  retentionMs: RAW_RETENTION,
  deadLetters: true,
  ...d,
});

export const TOPICS = {
  clickstream: raw({
    name: "clickstream.events",
    contract: ClickstreamEvent,
    key: "user_id (anonymous_id when there is none)",
    description: "clickstream events (SPEC §2.1, §2.7)",
  }),
  pushActions: raw({
    name: "actions.push",
    contract: PushAction,
    key: "user_id",
    description: "push actions to deliver (add_to_cart promotions) (SPEC §2.1)",
  }),
  // Kept forever: `bun run rebuild identities` folds every partner's graph again from it.
  identityLinks: raw({
    name: "identity.links",
    contract: IdentityLink,
    key: "partner_id",
    retentionMs: -1,
    description: "identifiers each identify event links (SPEC §2.7, repartition by partner)",
  }),
  // Kept forever: `bun run rebuild profiles` moves every linked profile to its person again from it.
  identityChanges: raw({
    name: "identity.changes",
    contract: IdentityChange,
    key: "identifier value",
    retentionMs: -1,
    description: "the person each linked identifier now belongs to (SPEC §2.7)",
  }),
  // Kept forever: `bun run rebuild persons` merges every person again from it.
  profilesMembers: raw({
    name: "profiles.members",
    contract: PersonMember,
    key: "person's canonical id value",
    retentionMs: -1,
    description: "each linked identifier's profile, for its person (SPEC §2.7, repartition)",
  }),
  clicks: raw({ name: "commerce.clicks", contract: Click, key: "user_id", description: "product clicks (SPEC §2.3)" }),
  checkouts: raw({
    name: "commerce.checkouts",
    contract: Checkout,
    key: "user_id",
    description: "checkouts (SPEC §2.3)",
  }),
  attributed: raw({
    name: "commerce.attributed",
    contract: Attribution,
    key: "user_id",
    description: "checkouts with their first click, corrections included (SPEC §2.3)",
  }),
  usersChangelog: raw({
    name: "users.changelog",
    contract: User,
    key: "user_id",
    cleanup: "compact",
    retentionMs: -1,
    description: "full user records, null deletes (SPEC §2.2)",
  }),
  tweets: raw({
    name: "social.tweets",
    contract: TweetEvent,
    key: "tweet_id",
    description: "tweets created/deleted (SPEC §2.2)",
  }),
  follows: raw({
    name: "social.follows",
    contract: FollowEvent,
    key: "follower_id",
    description: "follow/unfollow (SPEC §2.2)",
  }),
  likes: raw({ name: "social.likes", contract: LikeEvent, key: "user_id", description: "like/unlike (SPEC §2.2)" }),
  // Kept forever so `bun run rebuild userinfo` can replay every count change.
  userinfoDeltas: raw({
    name: "userinfo.deltas",
    contract: CountDelta,
    key: "user_id",
    retentionMs: -1,
    description: "user-info count changes (SPEC §2.2, repartition)",
  }),
  userinfoChangelog: raw({
    name: "userinfo.changelog",
    contract: User,
    key: "user_id",
    cleanup: "compact",
    retentionMs: -1,
    deadLetters: false,
    description: "user-info documents, null when deleted (SPEC §2.2)",
  }),
  membersNew: raw({
    name: "members.new",
    contract: MemberSignup,
    key: "member id",
    description: "member signups captured from Postgres members (SPEC §2.4)",
  }),
  membersAugmented: raw({
    name: "members.augmented",
    contract: AugmentedMember,
    key: "member id",
    description: "signups with their subscriber key (SPEC §2.4)",
  }),
  usersCdc: raw({
    name: "users.cdc",
    contract: CapturedUser,
    key: "user_id",
    cleanup: "compact",
    retentionMs: -1,
    description: "users rows captured from Postgres, null when deleted (SPEC §2.5)",
  }),
  beacons: raw({
    name: "content.beacons",
    contract: Beacon,
    key: "user_id",
    description: "active-user beacons (SPEC §2.5)",
  }),
  interactions: raw({
    name: "content.interactions",
    contract: Interaction,
    key: "user_id",
    description: "content interactions (SPEC §2.5)",
  }),
  activeUsersEnriched: raw({
    name: "active_users.enriched",
    contract: EnrichedBeacon,
    key: "user_id",
    description: "beacons with the user's attributes (SPEC §2.5)",
  }),
  interactionsEnriched: raw({
    name: "interactions.enriched",
    contract: EnrichedInteraction,
    key: "user_id",
    description: "interactions with the user's attributes (SPEC §2.5)",
  }),
  impressions: raw({
    name: "content.impressions",
    contract: EnrichedInteraction,
    key: "user_id",
    description: "enriched interactions liked or shared (SPEC §2.5)",
  }),
  opens: raw({
    name: "content.opens",
    contract: ContentOpened,
    key: "content_id",
    description: "opened interactions and upstream watermarks (SPEC §2.5, repartition)",
  }),
  userActivity: raw({
    name: "content.user-activity",
    contract: UserActivity,
    key: "user_id",
    description: "content opened per user per window (SPEC §2.5)",
  }),
  // One partition: every content.opens partition's result for a window meets in one place.
  popular: raw({
    name: "content.popular",
    contract: PopularInPartition,
    key: "window start",
    partitions: 1,
    description: "top content per content.opens partition per window (SPEC §2.5)",
  }),
} as const satisfies Record<string, TopicDeclaration>;

export type TopicId = keyof typeof TOPICS;

/** A declared topic's name as this process uses it (with TOPIC_PREFIX). */
export const TOPIC = Object.fromEntries(
  Object.entries(TOPICS).map(([id, t]) => [id, `${TOPIC_PREFIX}${t.name}`]),
) as Record<TopicId, string>;

/** Where a topic's refused records go. */
export const deadLetterTopic = (topic: string) => `${topic}.dlq`;

/** What the broker is told to create for a topic: the declared ones and their dead-letter topics. */
export type TopicSpec = {
  name: string;
  cleanup: "delete" | "compact";
  retentionMs: number;
  partitions?: number;
  replication?: number;
  description: string;
};

/** Every topic to create with a prefix (this process's by default), dead-letter topics included. */
export function topicSpecs(prefix = TOPIC_PREFIX): TopicSpec[] {
  return Object.values(TOPICS).flatMap((t): TopicSpec[] => {
    const { contract: _, key, deadLetters, ...rest } = t as TopicDeclaration;
    const spec: TopicSpec = { ...rest, name: `${prefix}${t.name}`, description: `${t.description}, key ${key}` };
    if (!deadLetters) return [spec];
    return [
      spec,
      {
        name: deadLetterTopic(spec.name),
        cleanup: "delete",
        retentionMs: DLQ_RETENTION,
        description: `records of ${spec.name} that failed their contract, with the reason in headers`,
      },
    ];
  });
}

export type WorkerDeclaration = {
  pipeline: string;
  /** External systems it reads besides topics (a table, a service). */
  from?: string[];
  inputs: TopicId[];
  outputs: TopicId[];
  /** External systems it writes besides topics and views. */
  to?: string[];
  /** Inputs whose partition N are folded together (same key, same partition count). */
  copartitioned?: boolean;
  summary: string;
};

/** Every worker `bun run workers` runs, by name (also its consumer group, after CONSUMER_GROUP_PREFIX). */
export const WORKERS = {
  profiles: {
    pipeline: "clickstream profiles",
    inputs: ["clickstream", "identityChanges"],
    outputs: ["pushActions", "identityLinks", "profilesMembers"],
    copartitioned: true,
    summary:
      "folds each partner's view of each identifier; add_to_cart emits a push action, identify the identifiers it links, a linked identifier's change its profile for its person",
  },
  "warehouse-identities": {
    pipeline: "identity unification",
    inputs: ["identityChanges"],
    outputs: [],
    to: ["warehouse.identities table"],
    summary: "keeps each linked identifier's person as a Postgres row, for the daily report",
  },
  persons: {
    pipeline: "identity unification",
    inputs: ["profilesMembers"],
    outputs: [],
    summary: "merges the profiles of each person's identifiers into one, readable by any of them",
  },
  identities: {
    pipeline: "identity unification",
    inputs: ["identityLinks"],
    outputs: ["identityChanges"],
    summary:
      "keeps each partner's identity graph: linked identifiers, one canonical id per person, within the identity limits",
  },
  notifier: {
    pipeline: "clickstream profiles",
    inputs: ["pushActions"],
    outputs: [],
    to: ["push webhook"],
    summary: "delivers push actions to PUSH_WEBHOOK_URL, once per action",
  },
  "social-edges": {
    pipeline: "user information",
    inputs: ["tweets", "follows", "likes"],
    outputs: ["userinfoDeltas"],
    summary: "turns tweets, follows and likes into per-user count changes",
  },
  userinfo: {
    pipeline: "user information",
    inputs: ["usersChangelog", "userinfoDeltas"],
    outputs: ["userinfoChangelog"],
    copartitioned: true,
    summary: "joins user records with their counts",
  },
  attribution: {
    pipeline: "checkout attribution",
    inputs: ["clicks", "checkouts"],
    outputs: ["attributed"],
    copartitioned: true,
    summary: "gives each checkout the user's first click within the window",
  },
  "attributed-checkouts": {
    pipeline: "checkout attribution",
    inputs: ["attributed"],
    outputs: [],
    from: ["users table"],
    summary: "writes attributed checkouts with the user's details to Postgres",
  },
  capture: {
    pipeline: "member welcome",
    from: ["cdc_outbox table"],
    inputs: [],
    outputs: ["membersNew", "usersCdc"],
    summary: "publishes captured Postgres rows (members, users) in order",
  },
  augmenter: {
    pipeline: "member welcome",
    inputs: ["membersNew"],
    outputs: ["membersAugmented"],
    from: ["subscriber-key service"],
    summary: "adds each new member's subscriber key",
  },
  emailer: {
    pipeline: "member welcome",
    inputs: ["membersAugmented"],
    outputs: [],
    to: ["SMTP"],
    summary: "sends each member one welcome email",
  },
  enrich: {
    pipeline: "real-time personalization",
    inputs: ["usersCdc", "beacons", "interactions"],
    outputs: ["activeUsersEnriched", "interactionsEnriched", "impressions"],
    copartitioned: true,
    summary: "joins beacons and interactions with the user's attributes",
  },
  "user-activity": {
    pipeline: "real-time personalization",
    inputs: ["interactionsEnriched"],
    outputs: ["userActivity", "opens"],
    summary: "counts each user's opens per window; repartitions opens by content",
  },
  "popular-content": {
    pipeline: "real-time personalization",
    inputs: ["opens"],
    outputs: ["popular"],
    summary: "ranks content by opens per window behind the watermark",
  },
  "content-views": {
    pipeline: "real-time personalization",
    inputs: ["userActivity", "popular"],
    outputs: [],
    summary: "keeps the last windows per user and of popular content",
  },
} as const satisfies Record<string, WorkerDeclaration>;

export type WorkerName = keyof typeof WORKERS;

/** Scheduled jobs that read topics in bulk (`bun run export`). */
export const JOBS = {
  export: {
    pipeline: "warehouse export",
    inputs: [
      "clickstream",
      "clicks",
      "checkouts",
      "tweets",
      "follows",
      "likes",
      "beacons",
      "interactions",
      "activeUsersEnriched",
      "interactionsEnriched",
    ],
    outputs: [],
    to: ["warehouse.* day tables"],
    summary: "copies each day's records of the raw topics to day-partitioned Postgres tables",
  },
} as const satisfies Record<string, WorkerDeclaration>;

export type ViewDeclaration = {
  /** The worker whose fold keeps it; `bun run rebuild <worker>` folds it again from its inputs. */
  worker: WorkerName;
  store: "redis" | "postgres";
  /** Where a document lives: a Redis key pattern or a table. */
  key: string;
  document: string;
  /** The search index beside it (after INDEX_PREFIX), if any. */
  index?: string;
  /** What the API serves from it. */
  serves: string[];
};

/** The read models the API serves, in the order `bun run rebuild --all` folds them again. */
export const VIEWS = {
  profiles: {
    worker: "profiles",
    store: "redis",
    key: "profile:{p<N>}:<partner>:<user> (N: the user's clickstream.events partition)",
    document: "ProfileState (workers/profiles/view.ts)",
    index: "profiles",
    serves: ["GET /v1/profiles/:userId", "GET /v1/profiles/search"],
  },
  userinfo: {
    worker: "userinfo",
    store: "redis",
    key: "userinfo:{p<N>}:<user> (N: the user's partition)",
    document: "UserInfoState (workers/userinfo/view.ts)",
    index: "userinfo",
    serves: ["GET /v1/users/:userId", "GET /v1/users/search"],
  },
  persons: {
    worker: "persons",
    store: "redis",
    key: "person:{p<N>}:<partner>:person:<type>:<value> (N: the canonical id value's profiles.members partition)",
    document: "PersonState (workers/profiles/persons.ts)",
    index: "persons",
    serves: ["GET /v1/profiles/:id (a linked identifier)", "GET /v1/profiles/search"],
  },
  identities: {
    worker: "identities",
    store: "redis",
    key: "identity:{p<N>}:<partner>:<type>:<value> (N: the partner's identity.links partition)",
    document: "IdentityNode (infra/platform/contracts/identity.ts)",
    serves: ["GET /v1/profiles/:id/identities"],
  },
  "warehouse-identities": {
    worker: "warehouse-identities",
    store: "postgres",
    key: "warehouse.identities (partner_id, identifier_type, identifier_value)",
    document: "a row (db/schema.ts)",
    serves: ["GET /v1/reports/daily", "bun run report"],
  },
  "attributed-checkouts": {
    worker: "attributed-checkouts",
    store: "postgres",
    key: "attributed_checkouts (checkout_id)",
    document: "a row (db/schema.ts)",
    serves: ["GET /v1/checkouts/:checkoutId"],
  },
  content: {
    worker: "content-views",
    store: "redis",
    key: "content-views:{p<N>}:activity:<user> | content-views:{p0}:popular",
    document: "ActivityView | PopularView (workers/personalization/view.ts)",
    serves: ["GET /v1/content/popular", "GET /v1/users/:userId/activity"],
  },
} as const satisfies Record<string, ViewDeclaration>;

/** Who writes a topic from outside the workers. */
export const SOURCES: { name: string; outputs: TopicId[] }[] = [
  { name: "API (POST /v1/...)", outputs: ["clickstream", "clicks", "checkouts", "beacons", "interactions"] },
  { name: "services (datagen)", outputs: ["usersChangelog", "tweets", "follows", "likes"] },
];
