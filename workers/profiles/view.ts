import { EVENT_TYPES } from "../../infra/platform/contracts/clickstream.ts";
import type { Identifier, IdentifierType, IdentityNode } from "../../infra/platform/contracts/identity.ts";
import type { LatestField, ProfileDocument } from "../../infra/platform/contracts/profiles.ts";
import { type Partitions, partitionOf } from "../../infra/platform/kafka/partitioner.ts";
import { documentKey, keyOf, responseKey } from "../../infra/platform/redis-keys.ts";

/**
 * The profile view (SPEC §2.1, §2.7): what `GET /v1/profiles/:id` returns
 * and what is indexed for search: its keys, documents and index, the only
 * part of the profile pipeline the API imports. A profile is one partner's
 * view of one identifier (SPEC §3.8): partner B's events never change
 * partner A's profile of the same user_id, and only A's keys read it. Once
 * identifiers are linked, their person's profile (kept by the `persons`
 * worker from theirs) is what a lookup by any of them answers, and what
 * search finds, once.
 */

/** An identifier's profile, as folded from the events keyed by it. */
export type Profile = ProfileDocument;

/** What a lookup answers and search indexes: a profile and the identifiers whose events it counts. */
export type ProfileAnswer = Profile & { identifiers: Identifier[] };

/** What the profile worker stores per identifier: the profile plus the bounded memory its fold needs. */
export type ProfileState = {
  /** Null while only the identifier's person is known (linked before any event of it arrived). */
  profile: Profile | null;
  /**
   * 52-bit hashes of the identifier's most recent event ids, to count a
   * redelivered or re-sent event once (duplicates arrive close together: a
   * retried POST, a producer retry). Hashes keep the stored state small.
   */
  recent_events: number[];
  /** Recent session ids, to count each session once. */
  recent_sessions: string[];
  /** When each latest field's value was seen (absent in states folded before it was kept: then last_visit stands in). */
  seen_at?: Partial<Record<LatestField, string>>;
  /** The person it is linked into (identity.changes); absent while it stands alone. */
  person?: IdentityNode;
};

export const PROFILE_NAMESPACE = "profile";
/** The identifier types a profile is keyed by: those clickstream.events is keyed by. */
export const PROFILE_ID_TYPES = ["user_id", "anonymous_id"] as const satisfies readonly IdentifierType[];
export type ProfileIdType = (typeof PROFILE_ID_TYPES)[number];
export const isProfileIdType = (type: string): type is ProfileIdType =>
  (PROFILE_ID_TYPES as readonly string[]).includes(type);
/**
 * The state key of a partner's profile of an identifier (also its search
 * document id). A user's key is two ids and any other identifier's three,
 * so no value of one type can name another's profile.
 */
export const profileId = (partnerId: string, id: string, type: IdentifierType = "user_id") =>
  type === "user_id" ? keyOf(partnerId, id) : keyOf(partnerId, type, id);
/** Where the profile lives in Redis: under the partition of clickstream.events (`partitions` of them) that holds the id's events. */
export const profileKey = (
  partnerId: string,
  id: string,
  { partitions }: Partitions,
  type: ProfileIdType = "user_id",
) => documentKey(PROFILE_NAMESPACE, profileId(partnerId, id, type), partitionOf(id, partitions));
/** The identifier a profile is about: its user, else its anonymous id. */
export const profileIdentifier = (profile: Profile): Identifier =>
  profile.user_id !== null
    ? { type: "user_id", value: profile.user_id }
    : { type: "anonymous_id", value: profile.anonymous_id! };
/** What `GET /v1/profiles/:id` answers for an identifier's own state (null: nothing, a 404). */
export const profileAnswer = (state: ProfileState): ProfileAnswer | null =>
  state.profile === null
    ? null
    : { ...state.profile, identifiers: state.person?.members ?? [profileIdentifier(state.profile)] };
/**
 * What is stored ready to send and indexed for search for an identifier:
 * its profile while it stands alone; nothing once it is linked, as its
 * person's answer stands for it (a lookup of a linked identifier misses
 * here and reads its node, then its person's).
 */
export const standaloneAnswer = (state: ProfileState): ProfileAnswer | null =>
  state.person === undefined ? profileAnswer(state) : null;
/** Where the worker stores that answer ready to send (infra/platform/stored-response.ts). */
export const profileResponseKey = (
  partnerId: string,
  id: string,
  { partitions }: Partitions,
  type: ProfileIdType = "user_id",
) => responseKey(PROFILE_NAMESPACE, profileId(partnerId, id, type), partitionOf(id, partitions));

export const PERSON_NAMESPACE = "person";
/** A person's state key (and search document id): four ids, so it never names an identifier's profile. */
export const personId = (partnerId: string, person: Identifier) =>
  keyOf(partnerId, "person", person.type, person.value);
/** Where the persons worker keeps a person's answer: under the partition of profiles.members its canonical id's value hashes to. */
export const personResponseKey = (partnerId: string, person: Identifier, { partitions }: Partitions) =>
  responseKey(PERSON_NAMESPACE, personId(partnerId, person), partitionOf(person.value, partitions));

export const profilesIndex = (prefix: string) => `${prefix}profiles`;
/** The persons' index, beside the profiles' (each worker drops only its own on a rebuild); search reads both. */
export const personsIndex = (prefix: string) => `${prefix}persons`;
/** What profile search reads: identifiers standing alone, and persons. */
export const profileSearchIndices = (prefix: string) => `${profilesIndex(prefix)},${personsIndex(prefix)}`;

/** Exact-value fields only: search filters on them, never full text (SPEC §2.1). */
export const PROFILE_MAPPING = {
  dynamic: "strict",
  properties: {
    user_id: { type: "keyword" },
    anonymous_id: { type: "keyword" },
    identifiers: { properties: { type: { type: "keyword" }, value: { type: "keyword" } } },
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
