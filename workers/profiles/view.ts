import { EVENT_TYPES, type EventType } from "../../infra/platform/contracts/clickstream.ts";
import type { IdentifierType } from "../../infra/platform/contracts/identity.ts";
import { type Partitions, partitionOf } from "../../infra/platform/kafka/partitioner.ts";
import { documentKey, keyOf, responseKey } from "../../infra/platform/redis-keys.ts";

/**
 * The profile view (SPEC §2.1): what `GET /v1/profiles/:id` returns and what
 * is indexed for search: its key, document and index, the only part of the
 * profile pipeline the API imports. A profile
 * is one partner's view of one user (SPEC §3.8): partner B's events never
 * change partner A's profile of the same user_id, and only A's keys read it.
 */
export type Profile = {
  /** Null for a profile of a device or cookie whose user is not known (anonymous_id). */
  user_id: string | null;
  anonymous_id: string | null;
  first_seen: string;
  /** Newest occurred_at seen, whatever order events arrived in. */
  last_visit: string;
  /** Sum of purchase cart_amount. */
  total_purchases: number;
  event_counts: Record<EventType, number>;
  events_total: number;
  /** Newest first, bounded. */
  recent_categories: string[];
  sessions: number;
  /** True only while the user's first event is the only one seen. */
  is_new: boolean;
  /** The partner whose events built it: the only one that may read it. */
  partner_id: string;
  /** Latest known values, taken from the newest event (by occurred_at) that carries them. */
  partner_name: string | null;
  country: string | null;
  language: string | null;
  user_agent: string | null;
  referrer: string | null;
};

/** What the worker stores: the profile plus the bounded memory its fold needs. */
export type ProfileState = {
  profile: Profile;
  /**
   * 52-bit hashes of the user's most recent event ids, to count a redelivered
   * or re-sent event once (duplicates arrive close together: a retried POST,
   * a producer retry). Hashes keep the stored state small.
   */
  recent_events: number[];
  /** Recent session ids, to count each session once. */
  recent_sessions: string[];
};

export const PROFILE_NAMESPACE = "profile";
/** The identifier types a profile is keyed by: those clickstream.events is keyed by. */
export const PROFILE_ID_TYPES = ["user_id", "anonymous_id"] as const satisfies readonly IdentifierType[];
export type ProfileIdType = (typeof PROFILE_ID_TYPES)[number];
/**
 * The state key of a partner's profile of a user, or of an anonymous id
 * (also its search document id). A user's key is two ids and any other
 * identifier's three, so no value of one type can name another's profile.
 */
export const profileId = (partnerId: string, id: string, type: ProfileIdType = "user_id") =>
  type === "user_id" ? keyOf(partnerId, id) : keyOf(partnerId, type, id);
/** Where the profile lives in Redis: under the partition of clickstream.events (`partitions` of them) that holds the id's events. */
export const profileKey = (
  partnerId: string,
  id: string,
  { partitions }: Partitions,
  type: ProfileIdType = "user_id",
) => documentKey(PROFILE_NAMESPACE, profileId(partnerId, id, type), partitionOf(id, partitions));
/** What `GET /v1/profiles/:id` answers (and search indexes) for a state. */
export const profileAnswer = (state: ProfileState): Profile => state.profile;
/** Where the worker stores that answer ready to send (infra/platform/stored-response.ts). */
export const profileResponseKey = (
  partnerId: string,
  id: string,
  { partitions }: Partitions,
  type: ProfileIdType = "user_id",
) => responseKey(PROFILE_NAMESPACE, profileId(partnerId, id, type), partitionOf(id, partitions));
export const profilesIndex = (prefix: string) => `${prefix}profiles`;

/** Exact-value fields only: search filters on them, never full text (SPEC §2.1). */
export const PROFILE_MAPPING = {
  dynamic: "strict",
  properties: {
    user_id: { type: "keyword" },
    anonymous_id: { type: "keyword" },
    first_seen: { type: "date" },
    last_visit: { type: "date" },
    total_purchases: { type: "double" },
    event_counts: { properties: Object.fromEntries(EVENT_TYPES.map((type) => [type, { type: "long" }])) },
    events_total: { type: "long" },
    recent_categories: { type: "keyword" },
    sessions: { type: "long" },
    is_new: { type: "boolean" },
    partner_id: { type: "keyword" },
    partner_name: { type: "keyword" },
    country: { type: "keyword" },
    language: { type: "keyword" },
    user_agent: { type: "keyword", index: false },
    referrer: { type: "keyword", index: false },
  },
} as const;
