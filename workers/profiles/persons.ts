import { type Identifier, identifierRef } from "../../infra/platform/contracts/identity.ts";
import type { LatestField, PersonMember, ProfileSnapshot } from "../../infra/platform/contracts/profiles.ts";
import { LIMITS } from "./fold.ts";
import type { Profile, ProfileAnswer } from "./view.ts";

/** A person's state: the latest profile of each of its identifiers that has one, by identifier. */
export type PersonState = {
  person: Identifier;
  /** Every identifier of the person (the largest group its members reported: groups only grow). */
  identifiers: Identifier[];
  members: Record<string, ProfileSnapshot>;
};

/**
 * Fold one member record into its person (SPEC §2.7): the member's profile
 * replaces the one held, or leaves with it (merged into another person).
 * Records of one member come in the order its profile changed (one
 * partition), so the last one is its profile now. A person with no members
 * left is deleted.
 */
export function personFold(state: PersonState | undefined, record: PersonMember): PersonState | null {
  const ref = identifierRef(record.member);
  if (record.snapshot === null && !state?.members[ref]) return state ?? null;
  const members = { ...state?.members };
  if (record.snapshot) members[ref] = record.snapshot;
  else delete members[ref];
  if (Object.keys(members).length === 0) return null;
  // A leaving member reports its new person's identifiers, not this one's.
  const identifiers =
    record.snapshot && record.identifiers.length > (state?.identifiers.length ?? 0)
      ? record.identifiers
      : (state?.identifiers ?? record.identifiers);
  return { person: record.person, identifiers, members };
}

const newestFirst = (a: Profile, b: Profile) =>
  a.last_visit < b.last_visit ? 1 : a.last_visit > b.last_visit ? -1 : 0;

/**
 * One profile from the profiles of a person's identifiers: the earliest
 * first_seen, the latest last_visit, totals and counts summed (each event
 * was folded into exactly one identifier's profile: the one its record was
 * keyed by), a session seen under two identifiers (browsing that logged in
 * midway) counted once, recent categories and the latest known fields from
 * the most recently active identifier first.
 */
export function personAnswer(state: PersonState): ProfileAnswer {
  // Sums in one order (by identifier), so the same members always give the same total.
  const snapshots = Object.keys(state.members)
    .sort()
    .map((ref) => state.members[ref]!);
  const profiles = snapshots.map((s) => s.profile);
  const byRecency = [...profiles].sort(newestFirst);
  const sum = (of: (p: Profile) => number) => profiles.reduce((total, p) => total + of(p), 0);

  const seen = new Map<string, number>();
  for (const s of snapshots) for (const session of s.recent_sessions) seen.set(session, (seen.get(session) ?? 0) + 1);
  const sharedSessions = [...seen.values()].reduce((extra, n) => extra + n - 1, 0);

  const counts = { ...profiles[0]!.event_counts };
  for (const p of profiles.slice(1))
    for (const type of Object.keys(counts) as (keyof typeof counts)[]) counts[type] += p.event_counts[type];
  /** The member's value seen last (ties: the first member by identifier). */
  const latest = (field: LatestField) => {
    let best: { value: string; at: string } | null = null;
    for (const s of snapshots) {
      const value = s.profile[field];
      const at = s.seen_at[field] ?? s.profile.last_visit;
      if (value !== null && (best === null || at > best.at)) best = { value, at };
    }
    return best?.value ?? null;
  };
  const user = state.identifiers.find((i) => i.type === "user_id");
  const anonymous = state.identifiers.find((i) => i.type === "anonymous_id");
  const eventsTotal = sum((p) => p.events_total);

  return {
    user_id: user?.value ?? null,
    anonymous_id: user ? null : (anonymous?.value ?? null),
    first_seen: profiles.map((p) => p.first_seen).sort()[0]!,
    last_visit: byRecency[0]!.last_visit,
    total_purchases: sum((p) => p.total_purchases),
    event_counts: counts,
    events_total: eventsTotal,
    recent_categories: [...new Set(byRecency.flatMap((p) => p.recent_categories))].slice(0, LIMITS.recentCategories),
    sessions: sum((p) => p.sessions) - sharedSessions,
    is_new: eventsTotal === 1,
    partner_id: profiles[0]!.partner_id,
    partner_name: latest("partner_name"),
    country: latest("country"),
    language: latest("language"),
    user_agent: latest("user_agent"),
    referrer: latest("referrer"),
    identifiers: state.identifiers,
  };
}
