import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { ClickstreamEvent } from "../infra/platform/contracts/clickstream.ts";
import type { Identifier, IdentityChange } from "../infra/platform/contracts/identity.ts";
import type { PersonMember } from "../infra/platform/contracts/profiles.ts";
import type { OutRecord } from "../infra/platform/kafka/producer.ts";
import { identityChangeFold, profileFold } from "../workers/profiles/fold.ts";
import { type PersonState, personAnswer, personFold } from "../workers/profiles/persons.ts";
import type { ProfileState } from "../workers/profiles/view.ts";

const topics = { actions: "actions", links: "links", members: "members" };
const foldEvent = profileFold(topics);
const foldChange = identityChangeFold(topics);

const user = (value: string): Identifier => ({ type: "user_id", value });
const anon = (value: string): Identifier => ({ type: "anonymous_id", value });

let seq = 0;
const event = (ids: { user_id?: string; anonymous_id?: string }, extra: Partial<ClickstreamEvent> = {}) =>
  ({
    event_id: `e${++seq}`,
    type: "page_view",
    partner_id: "p1",
    occurred_at: "2026-11-20T10:00:00.000Z",
    ...ids,
    ...extra,
  }) as ClickstreamEvent;

const change = (identifier: Identifier, canonical: Identifier, members: Identifier[]): IdentityChange => ({
  event_id: "link",
  partner_id: "p1",
  identifier,
  canonical,
  members,
});

const membersOf = (emit: OutRecord[] | undefined) =>
  (emit ?? []).filter((r) => r.topic === "members").map((r) => ({ key: r.key, value: r.value as PersonMember }));

/** Fold events into one identifier's state. */
function foldEvents(events: ClickstreamEvent[], initial?: ProfileState) {
  let state = initial;
  const emitted: OutRecord[] = [];
  for (const e of events) {
    const folded = foldEvent(state, e);
    state = folded.state ?? undefined;
    emitted.push(...(folded.emit ?? []));
  }
  return { state: state!, emitted };
}

describe("a linked identifier's profile", () => {
  test("an identity change sends the identifier's profile to its person; events after it follow", () => {
    const { state } = foldEvents([event({ anonymous_id: "a1" }), event({ anonymous_id: "a1" })]);
    const linked = foldChange(state, change(anon("a1"), user("u1"), [user("u1"), anon("a1")]));
    const sent = membersOf(linked.emit);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.key).toBe("u1");
    expect(sent[0]!.value).toMatchObject({
      person: user("u1"),
      member: anon("a1"),
      identifiers: [user("u1"), anon("a1")],
      snapshot: { profile: { anonymous_id: "a1", events_total: 2 } },
    });
    const after = foldEvents([event({ anonymous_id: "a1" })], linked.state!);
    expect(membersOf(after.emitted).map((m) => m.value.snapshot?.profile.events_total)).toEqual([3]);
  });

  test("a change naming no more identifiers than the one known (a replay) changes nothing", () => {
    const { state } = foldEvents([event({ anonymous_id: "a1" })]);
    const bigger = foldChange(state, change(anon("a1"), user("u1"), [user("u1"), anon("a1"), anon("a2")])).state!;
    const older = foldChange(bigger, change(anon("a1"), anon("a1"), [anon("a1"), anon("a2")]));
    expect(older.state).toBe(bigger);
    expect(older.emit ?? []).toEqual([]);
  });

  test("moved to another person: it leaves the old one and joins the new one", () => {
    const { state } = foldEvents([event({ anonymous_id: "a2" })]);
    const first = foldChange(state, change(anon("a2"), anon("a1"), [anon("a1"), anon("a2")])).state!;
    const moved = membersOf(
      foldChange(first, change(anon("a2"), user("u9"), [user("u9"), anon("a1"), anon("a2")])).emit,
    );
    expect(moved.map((m) => [m.key, m.value.snapshot === null])).toEqual([
      ["a1", true],
      ["u9", false],
    ]);
  });

  test("linked before any event of it: the person is remembered, and the first event goes to it", () => {
    const linked = foldChange(undefined, change(anon("a7"), user("u7"), [user("u7"), anon("a7")]));
    expect(linked.state).toMatchObject({ profile: null, person: { canonical: user("u7") } });
    expect(linked.emit ?? []).toEqual([]);
    const { emitted } = foldEvents([event({ anonymous_id: "a7" })], linked.state!);
    expect(membersOf(emitted).map((m) => m.key)).toEqual(["u7"]);
  });
});

describe("a person's profile", () => {
  const anonymous = [
    event({ anonymous_id: "a1" }, { occurred_at: "2026-11-20T08:00:00.000Z", session_id: "s1", country: "DE" }),
    event({ anonymous_id: "a1" }, { occurred_at: "2026-11-20T08:05:00.000Z", session_id: "s1", type: "add_to_cart" }),
  ];
  const loggedIn = [
    event({ user_id: "u1" }, { occurred_at: "2026-11-20T08:10:00.000Z", session_id: "s1", language: "de" }),
    event(
      { user_id: "u1" },
      { occurred_at: "2026-11-21T09:00:00.000Z", session_id: "s2", type: "purchase", cart_amount: 12.5 },
    ),
    event({ user_id: "u1" }, { occurred_at: "2026-11-19T07:00:00.000Z", session_id: "s3", country: "FR" }),
  ];
  const identifiers = [user("u1"), anon("a1")];
  /** Each identifier's profile as its link sends it to the person. */
  const members = (): PersonMember[] =>
    [
      { member: anon("a1"), events: anonymous },
      { member: user("u1"), events: loggedIn },
    ].map(({ member, events }) => {
      const { state } = foldEvents(events);
      const sent = membersOf(foldChange(state, change(member, user("u1"), identifiers)).emit);
      expect(sent).toHaveLength(1);
      return sent[0]!.value;
    });

  test("merges its identifiers' profiles: each event once, a session seen under both once", () => {
    let state: PersonState | undefined;
    for (const member of members()) state = personFold(state, member) ?? undefined;
    const all = [...anonymous, ...loggedIn];
    expect(personAnswer(state!)).toMatchObject({
      user_id: "u1",
      anonymous_id: null,
      first_seen: "2026-11-19T07:00:00.000Z",
      last_visit: "2026-11-21T09:00:00.000Z",
      events_total: all.length,
      total_purchases: 12.5,
      event_counts: { page_view: 3, add_to_cart: 1, purchase: 1 },
      sessions: new Set(all.map((e) => e.session_id)).size,
      // The newest event that carries a value gives it: u1's, then a1's.
      country: "DE",
      language: "de",
      is_new: false,
      identifiers,
    });
  });

  test("the same members in any order make the same profile", () => {
    const records = members();
    const one = personAnswer(
      records.reduce<PersonState | undefined>((s, r) => personFold(s, r) ?? undefined, undefined)!,
    );
    fc.assert(
      fc.property(fc.shuffledSubarray(records, { minLength: 2, maxLength: 2 }), (order) => {
        const state = order.reduce<PersonState | undefined>((s, r) => personFold(s, r) ?? undefined, undefined)!;
        expect(personAnswer(state)).toEqual(one);
      }),
    );
  });

  test("a member that leaves takes its profile with it; the last one deletes the person", () => {
    const [a1, u1] = members();
    let state = personFold(personFold(undefined, a1!)!, u1!)!;
    state = personFold(state, { ...a1!, snapshot: null })!;
    expect(personAnswer(state).events_total).toBe(loggedIn.length);
    expect(personFold(state, { ...u1!, snapshot: null })).toBeNull();
  });
});
