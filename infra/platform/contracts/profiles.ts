import * as v from "valibot";
import { EVENT_TYPES } from "./clickstream.ts";
import { boundedArray, Count, contract, Id, Text, Timestamp } from "./fields.ts";
import { IdentifierSchema as Identifier } from "./identity.ts";

const nullableText = (max = 2048) => v.nullish(Text(max), null);
/** A sum of admitted amounts: finite and non-negative, without the bound of one amount. */
const Total = v.pipe(v.number("expected a number"), v.finite("must be finite"), v.minValue(0, "must not be negative"));

/**
 * A partner's profile of one identifier, as the profile worker folds it
 * (SPEC §2.1): what `profiles.members` carries to the person it belongs to.
 */
export const ProfileDocument = contract({
  /** Null for a profile of a device or cookie whose user is not known (anonymous_id). */
  user_id: v.nullable(Id),
  anonymous_id: v.nullable(Id),
  first_seen: Timestamp,
  /** Newest occurred_at seen, whatever order events arrived in. */
  last_visit: Timestamp,
  /** Sum of purchase cart_amount. */
  total_purchases: Total,
  event_counts: contract(
    Object.fromEntries(EVENT_TYPES.map((type) => [type, Count(Number.MAX_SAFE_INTEGER)])) as Record<
      (typeof EVENT_TYPES)[number],
      ReturnType<typeof Count>
    >,
  ),
  events_total: Count(Number.MAX_SAFE_INTEGER),
  /** Newest first, bounded. */
  recent_categories: boundedArray(Text(256), 50, "categories"),
  sessions: Count(Number.MAX_SAFE_INTEGER),
  /** True only while the user's first event is the only one seen. */
  is_new: v.boolean("expected true or false"),
  /** The partner whose events built it: the only one that may read it. */
  partner_id: Id,
  /** Latest known values, taken from the newest event (by occurred_at) that carries them. */
  partner_name: nullableText(256),
  country: nullableText(64),
  language: nullableText(64),
  user_agent: nullableText(),
  referrer: nullableText(),
});
export type ProfileDocument = v.InferOutput<typeof ProfileDocument>;

/** Fields whose latest known value a profile keeps: the one of the newest event (by occurred_at) that carries one. */
export const LATEST_FIELDS = ["partner_name", "country", "language", "user_agent", "referrer"] as const;
export type LatestField = (typeof LATEST_FIELDS)[number];

/** What a person's profile needs of each identifier's: the profile, and the fold's memory of event ids and sessions. */
export const ProfileSnapshot = contract({
  profile: ProfileDocument,
  /** 52-bit hashes of recent event ids. */
  recent_events: boundedArray(Count(Number.MAX_SAFE_INTEGER), 1000, "event hashes"),
  recent_sessions: boundedArray(Id, 1000, "session ids"),
  /** When each latest field's value was seen (the event's occurred_at), so a person's is the newest of its members'. */
  seen_at: v.optional(v.record(v.picklist(LATEST_FIELDS), Timestamp), {}),
});
export type ProfileSnapshot = v.InferOutput<typeof ProfileSnapshot>;

/**
 * `profiles.members`, key the person's canonical id value (SPEC §2.7): one
 * identifier's profile as it now stands, for the person it belongs to, or
 * null when it belongs to that person no more (merged into another). Each
 * record replaces the member's previous one.
 */
export const PersonMember = contract({
  partner_id: Id,
  person: Identifier,
  member: Identifier,
  /** The person's identifiers as the member knew them (a group only grows). */
  identifiers: boundedArray(Identifier, 10_000, "identifiers"),
  snapshot: v.nullable(ProfileSnapshot),
});
export type PersonMember = v.InferOutput<typeof PersonMember>;
