import * as v from "valibot";
import { boundedArray, Count, contract, Id, Offset, optionalText, Text, Timestamp } from "./fields.ts";

/**
 * Real-time personalization (SPEC §2.5): users captured from Postgres, the
 * content app's beacons and interactions, what the workers derive from them.
 * Every topic here is keyed by user_id except the repartition by content
 * (`content.opens`) and the popular-content results.
 */

/** `users.cdc` (compacted), key user_id: a `users` row as captured after each insert or update; null when deleted. */
export const CapturedUser = contract({
  user_id: Id,
  username: Text(256),
  name: optionalText(256),
  email: optionalText(254),
  region: optionalText(64),
  gender: optionalText(64),
  updated_at: v.nullish(Timestamp),
});
export type CapturedUser = v.InferOutput<typeof CapturedUser>;

/** `content.beacons`, key user_id: the user is active now. */
export const Beacon = contract({ user_id: Id, occurred_at: Timestamp, device: optionalText(128) });
export type Beacon = v.InferOutput<typeof Beacon>;

export const ACTIONS = ["opened", "clicked", "watched", "scrolled"] as const;

/** `content.interactions`, key user_id. */
export const Interaction = contract({
  user_id: Id,
  content_id: Id,
  action: v.picklist(ACTIONS, `expected one of ${ACTIONS.join(", ")}`),
  occurred_at: Timestamp,
  liked: v.optional(v.nullable(v.boolean("expected true or false")), false),
  shared: v.optional(v.nullable(v.boolean("expected true or false")), false),
});
export type Interaction = v.InferOutput<typeof Interaction>;

/** The user's attributes as the enrichment knew them; null when the user is not (yet) known. */
const UserAttributes = v.nullable(v.object({ ...CapturedUser.entries }));
export type UserAttributes = v.InferOutput<typeof UserAttributes>;

/**
 * Where an event entered: its raw topic's partition and offset. Carried
 * through every derived record so a stage that sees a record twice (its
 * producer retried, or replayed after a crash) counts it once.
 */
const source = { source_partition: Count(100_000), source_offset: Offset };
export type Source = { source_partition: number; source_offset: string };

/** `active_users.enriched`, key user_id. */
export const EnrichedBeacon = contract({ ...Beacon.entries, user: UserAttributes, ...source });
export type EnrichedBeacon = v.InferOutput<typeof EnrichedBeacon>;

/** `interactions.enriched` and `content.impressions` (those liked or shared), key user_id. */
export const EnrichedInteraction = contract({ ...Interaction.entries, user: UserAttributes, ...source });
export type EnrichedInteraction = v.InferOutput<typeof EnrichedInteraction>;

/**
 * What a repartitioned record says of the stage partition it was written
 * from: that partition's number and its stream time once the record was
 * folded (its watermark). A stage reading a repartition topic moves its own
 * stream time by the least watermark of all upstream partitions, so a
 * backlog folds as live traffic does (SPEC §2.5).
 */
const upstream = { upstream_partition: Count(100_000), watermark: Timestamp };

/** `content.opens`, key content_id: an opened interaction, repartitioned by content. */
export const ContentOpened = contract({ content_id: Id, user_id: Id, occurred_at: Timestamp, ...source, ...upstream });
export type ContentOpened = v.InferOutput<typeof ContentOpened>;

/**
 * `content.opens`, to every partition (no key): an upstream partition's
 * watermark alone, sent when it passes a window's end, so each downstream
 * partition hears of it even when no open of that window went its way.
 */
export const OpensWatermark = contract(upstream);
export type OpensWatermark = v.InferOutput<typeof OpensWatermark>;

const windowBounds = { window_start: Timestamp, window_end: Timestamp };

/** `content.user-activity`, key user_id: content a user opened in one window (sent when it closes, again when a late open within the grace changes it). */
export const UserActivity = contract({
  user_id: Id,
  ...windowBounds,
  opens: Count(),
  content_ids: boundedArray(Id, 1000, "content ids"),
});
export type UserActivity = v.InferOutput<typeof UserActivity>;

const Ranked = v.object({ content_id: Id, opens: v.pipe(Count(), v.minValue(1, "must be at least 1")) });

/**
 * `content.popular` (one partition), key the window start: the most opened
 * content of one `content.opens` partition in one window. Content ids live in
 * one partition each, so the top N across all content is the top N of the
 * partitions' lists together.
 */
export const PopularInPartition = contract({
  ...windowBounds,
  partition: Count(100_000),
  top: boundedArray(Ranked, 1000, "ranked items"),
});
export type PopularInPartition = v.InferOutput<typeof PopularInPartition>;
