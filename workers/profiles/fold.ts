import type { PushAction } from "../../infra/platform/contracts/actions.ts";
import { type ClickstreamEvent, EVENT_TYPES, type EventType } from "../../infra/platform/contracts/clickstream.ts";
import {
  type Identifier,
  type IdentityChange,
  type IdentityLink,
  type IdentityNode,
  identifierRef,
  identifiersOf,
} from "../../infra/platform/contracts/identity.ts";
import { LATEST_FIELDS, type LatestField, type PersonMember } from "../../infra/platform/contracts/profiles.ts";
import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import type { Folded } from "../runtime/worker.ts";
import { isProfileIdType, type Profile, type ProfileState, profileIdentifier } from "./view.ts";

export const LIMITS = { recentCategories: 20, recentEvents: 64, recentSessions: 20 } as const;

/** wyhash of the id, cut to 52 bits so it is an exact JSON number. */
export const eventHash = (eventId: string) => Number(BigInt.asUintN(52, BigInt(Bun.hash(eventId))));

export const emptyCounts = (): Record<EventType, number> =>
  Object.fromEntries(EVENT_TYPES.map((type) => [type, 0])) as Record<EventType, number>;

/** Most recent first, without duplicates, at most `max` long. */
function remember(list: readonly string[], items: readonly string[], max: number): string[] {
  const fresh = [...items].reverse();
  return [...fresh, ...list.filter((item) => !fresh.includes(item))].slice(0, max);
}

type LatestFields = Pick<Profile, LatestField>;

/**
 * The value of the newest event (by occurred_at) that carries one wins,
 * whatever order events arrive in; a missing value never erases a known one.
 */
function latestFields(
  event: ClickstreamEvent,
  at: string,
  state: ProfileState | undefined,
): { fields: LatestFields; seenAt: Partial<Record<LatestField, string>> } {
  const fields: Partial<LatestFields> = {};
  const seenAt: Partial<Record<LatestField, string>> = {};
  const before = state?.profile ?? undefined;
  for (const field of LATEST_FIELDS) {
    const incoming = event[field] ?? null;
    const previous = before?.[field] ?? null;
    const previousAt = state?.seen_at?.[field] ?? (previous !== null ? before!.last_visit : undefined);
    const takeIncoming = incoming !== null && (previousAt === undefined || at >= previousAt);
    fields[field] = takeIncoming ? incoming : previous;
    const when = takeIncoming ? at : previousAt;
    if (when !== undefined && fields[field] !== null) seenAt[field] = when;
  }
  return { fields: fields as LatestFields, seenAt };
}

/** A promotion goes to a known user: an anonymous cart has no one to push to. */
function pushActionFor(event: ClickstreamEvent & { user_id: string }): PushAction {
  return {
    action_id: event.event_id,
    kind: "add_to_cart_promotion",
    event_id: event.event_id,
    user_id: event.user_id,
    partner_id: event.partner_id,
    occurred_at: event.occurred_at,
    category: event.category ?? null,
    current_url: event.current_url ?? null,
  };
}

function effectsOf(event: ClickstreamEvent, topics: ProfileOutputs): OutRecord[] {
  if (event.type === "add_to_cart" && event.user_id != null)
    return [{ topic: topics.actions, key: event.user_id, value: pushActionFor({ ...event, user_id: event.user_id }) }];
  const identifiers = identifiersOf(event);
  if (event.type === "identify" && identifiers.length >= 2) {
    const link: IdentityLink = {
      event_id: event.event_id,
      partner_id: event.partner_id,
      occurred_at: event.occurred_at,
      identifiers,
    };
    return [{ topic: topics.links, key: event.partner_id, value: link }];
  }
  return [];
}

/** Where the profile fold writes: push actions, identity links, and linked identifiers' profiles for their person. */
export type ProfileOutputs = { actions: string; links: string; members: string };

const emptyState = (): ProfileState => ({ profile: null, recent_events: [], recent_sessions: [] });

/**
 * The record that tells a person what one of its identifiers' profiles now
 * is (`profiles.members`, keyed by the person's canonical id), or, with no
 * profile, that the identifier is no longer its (merged into another person).
 */
function memberRecord(
  topic: string,
  to: IdentityNode,
  member: { partner_id: string; identifier: Identifier; identifiers: Identifier[] },
  state: ProfileState | null,
): OutRecord {
  const value: PersonMember = {
    partner_id: member.partner_id,
    person: to.canonical,
    member: member.identifier,
    identifiers: member.identifiers,
    snapshot: state?.profile
      ? {
          profile: state.profile,
          recent_events: state.recent_events,
          recent_sessions: state.recent_sessions,
          seen_at: state.seen_at ?? {},
        }
      : null,
  };
  return { topic, key: to.canonical.value, value };
}

/**
 * Fold one clickstream event into its partner's profile of the identifier
 * it is keyed by (SPEC §2.1; user_id, else anonymous_id). Pure: the same
 * state and event always give the same result. A repeated event_id leaves
 * the state untouched; an add_to_cart emits one push action to
 * `topics.actions`, an identify event the identifiers it links to
 * `topics.links` (keyed by partner: the identity graph's repartition, SPEC
 * §2.7), and a change to a linked identifier's profile goes to its person
 * on `topics.members`.
 */
export const profileFold =
  (topics: ProfileOutputs) =>
  (state: ProfileState | undefined, event: ClickstreamEvent): Folded<ProfileState> => {
    const hash = eventHash(event.event_id);
    if (state?.recent_events.includes(hash)) return { state };

    const at = new Date(event.occurred_at).toISOString();
    const before = state?.profile ?? undefined;
    const newest = before === undefined || at >= before.last_visit;
    const counts = { ...(before?.event_counts ?? emptyCounts()) };
    counts[event.type] += 1;
    const newSession = event.session_id != null && !(state?.recent_sessions ?? []).includes(event.session_id);
    const latest = latestFields(event, at, state);

    const profile: Profile = {
      user_id: event.user_id ?? null,
      anonymous_id: event.user_id == null ? (event.anonymous_id ?? null) : null,
      first_seen: before === undefined || at < before.first_seen ? at : before.first_seen,
      last_visit: newest ? at : before.last_visit,
      total_purchases: (before?.total_purchases ?? 0) + (event.type === "purchase" ? (event.cart_amount ?? 0) : 0),
      event_counts: counts,
      events_total: (before?.events_total ?? 0) + 1,
      recent_categories: remember(before?.recent_categories ?? [], event.category ?? [], LIMITS.recentCategories),
      sessions: (before?.sessions ?? 0) + (newSession ? 1 : 0),
      is_new: before === undefined,
      partner_id: event.partner_id,
      ...latest.fields,
    };

    const next: ProfileState = {
      profile,
      recent_events: [...(state?.recent_events ?? []), hash].slice(-LIMITS.recentEvents),
      recent_sessions: newSession
        ? [...(state?.recent_sessions ?? []), event.session_id!].slice(-LIMITS.recentSessions)
        : (state?.recent_sessions ?? []),
      seen_at: latest.seenAt,
      ...(state?.person && { person: state.person }),
    };
    const person = next.person;
    return {
      state: next,
      emit: [
        ...effectsOf(event, topics),
        ...(person
          ? [
              memberRecord(
                topics.members,
                person,
                { partner_id: event.partner_id, identifier: profileIdentifier(profile), identifiers: person.members },
                next,
              ),
            ]
          : []),
      ],
    };
  };

/**
 * Fold a change of the person an identifier belongs to (identity.changes):
 * its profile moves to the new person, and leaves the one it was merged
 * out of. Groups only grow, so a change naming no more identifiers than
 * the one known (a replayed, older record) changes nothing.
 */
export const identityChangeFold =
  (topics: Pick<ProfileOutputs, "members">) =>
  (state: ProfileState | undefined, change: IdentityChange): Folded<ProfileState> => {
    if (!isProfileIdType(change.identifier.type)) return { state: state ?? null };
    const before = state?.person;
    if (before && before.members.length >= change.members.length) return { state: state ?? null };
    const person: IdentityNode = { canonical: change.canonical, members: change.members };
    const next: ProfileState = { ...(state ?? emptyState()), person };
    const member = { partner_id: change.partner_id, identifier: change.identifier, identifiers: change.members };
    const moved = before !== undefined && identifierRef(before.canonical) !== identifierRef(person.canonical);
    return {
      state: next,
      emit: next.profile
        ? [
            ...(moved ? [memberRecord(topics.members, before, member, null)] : []),
            memberRecord(topics.members, person, member, next),
          ]
        : [],
    };
  };
