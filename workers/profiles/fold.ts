import type { PushAction } from "../../infra/platform/contracts/actions.ts";
import { type ClickstreamEvent, EVENT_TYPES, type EventType } from "../../infra/platform/contracts/clickstream.ts";
import { type IdentityLink, identifiersOf } from "../../infra/platform/contracts/identity.ts";
import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import type { Folded } from "../runtime/worker.ts";
import type { Profile, ProfileState } from "./view.ts";

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

const LATEST_FIELDS = ["partner_name", "country", "language", "user_agent", "referrer"] as const;
type LatestFields = Pick<Profile, (typeof LATEST_FIELDS)[number]>;

/** The newest event's value wins; a missing value never erases a known one. */
function latestFields(event: ClickstreamEvent, before: Profile | undefined, newest: boolean): LatestFields {
  const fields = LATEST_FIELDS.map((field) => {
    const incoming = event[field] ?? null;
    const previous = before?.[field] ?? null;
    return [field, newest ? (incoming ?? previous) : (previous ?? incoming)];
  });
  return Object.fromEntries(fields) as LatestFields;
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

function effectsOf(event: ClickstreamEvent, topics: { actions: string; links: string }): OutRecord[] {
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

/**
 * Fold one clickstream event into its partner's profile of the user (SPEC
 * §2.1; the state is keyed by partner and user). Pure: the same state and
 * event always give the same result. A repeated event_id leaves the state
 * untouched; an add_to_cart emits one push action to `topics.actions`, and
 * an identify event the identifiers it links to `topics.links` (keyed by
 * partner: the identity graph's repartition, SPEC §2.7).
 */
export const profileFold =
  (topics: { actions: string; links: string }) =>
  (state: ProfileState | undefined, event: ClickstreamEvent): Folded<ProfileState> => {
    const hash = eventHash(event.event_id);
    if (state?.recent_events.includes(hash)) return { state };

    const at = new Date(event.occurred_at).toISOString();
    const before = state?.profile;
    const newest = before === undefined || at >= before.last_visit;
    const counts = { ...(before?.event_counts ?? emptyCounts()) };
    counts[event.type] += 1;
    const newSession = event.session_id != null && !(state?.recent_sessions ?? []).includes(event.session_id);

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
      ...latestFields(event, before, newest),
    };

    return {
      state: {
        profile,
        recent_events: [...(state?.recent_events ?? []), hash].slice(-LIMITS.recentEvents),
        recent_sessions: newSession
          ? [...(state?.recent_sessions ?? []), event.session_id!].slice(-LIMITS.recentSessions)
          : (state?.recent_sessions ?? []),
      },
      emit: effectsOf(event, topics),
    };
  };
