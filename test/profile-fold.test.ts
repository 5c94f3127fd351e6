import { describe, expect, test } from "bun:test";
import type { ClickstreamEvent } from "../infra/platform/contracts/clickstream.ts";
import { LIMITS, profileFold } from "../workers/profiles/fold.ts";
import type { Profile, ProfileState } from "../workers/profiles/view.ts";

const foldProfile = profileFold({ actions: "actions.push", links: "identity.links", members: "profiles.members" });

let seq = 0;
const event = (overrides: Partial<ClickstreamEvent> = {}): ClickstreamEvent => ({
  event_id: `e${++seq}`,
  type: "page_view",
  user_id: "u1",
  partner_id: "p1",
  occurred_at: "2026-11-25T10:00:00.000Z",
  ...overrides,
});

type Folded = ProfileState & { profile: Profile };

/** Fold events in the given (arrival) order; every event leaves a profile. */
function foldAll(events: ClickstreamEvent[], initial?: ProfileState): Folded {
  let state = initial;
  for (const e of events) state = foldProfile(state, e).state ?? undefined;
  expect(state?.profile).toBeTruthy();
  return state as Folded;
}

describe("profile fold", () => {
  test("the first event creates the profile and marks the user new", () => {
    const { profile } = foldAll([event({ country: "DE", language: "de", session_id: "s1", partner_name: "Shop" })]);
    expect(profile).toMatchObject({
      user_id: "u1",
      first_seen: "2026-11-25T10:00:00.000Z",
      last_visit: "2026-11-25T10:00:00.000Z",
      is_new: true,
      events_total: 1,
      sessions: 1,
      country: "DE",
      language: "de",
      partner_id: "p1",
      partner_name: "Shop",
      total_purchases: 0,
    });
    expect(profile.event_counts.page_view).toBe(1);
    expect(profile.event_counts.purchase).toBe(0);
  });

  test("is_new is true only on the first event", () => {
    const first = foldAll([event()]);
    expect(first.profile.is_new).toBe(true);
    expect(foldAll([event()], first).profile.is_new).toBe(false);
  });

  test("last_visit is the newest occurred_at and first_seen the oldest, whatever the arrival order", () => {
    const { profile } = foldAll([
      event({ occurred_at: "2026-11-25T12:00:00.000Z" }),
      event({ occurred_at: "2026-11-25T09:00:00.000Z" }),
      event({ occurred_at: "2026-11-25T13:30:00+01:00" }),
    ]);
    expect(profile.first_seen).toBe("2026-11-25T09:00:00.000Z");
    expect(profile.last_visit).toBe("2026-11-25T12:30:00.000Z");
  });

  test("latest partner name, country, language, user agent and referrer come from the newest event, not the last to arrive", () => {
    const { profile } = foldAll([
      event({
        occurred_at: "2026-11-25T12:00:00.000Z",
        partner_name: "New",
        country: "FR",
        language: "fr",
        user_agent: "new",
        referrer: "r-new",
      }),
      event({
        occurred_at: "2026-11-25T08:00:00.000Z",
        partner_name: "Old",
        country: "DE",
        language: "de",
        user_agent: "old",
        referrer: "r-old",
      }),
    ]);
    expect(profile).toMatchObject({
      partner_id: "p1",
      partner_name: "New",
      country: "FR",
      language: "fr",
      user_agent: "new",
      referrer: "r-new",
    });
  });

  test("a newer event without a field keeps the known value; an older one fills a gap", () => {
    const { profile } = foldAll([
      event({ occurred_at: "2026-11-25T10:00:00.000Z", country: "DE" }),
      event({ occurred_at: "2026-11-25T11:00:00.000Z" }),
      event({ occurred_at: "2026-11-25T09:00:00.000Z", language: "de" }),
    ]);
    expect(profile.country).toBe("DE");
    expect(profile.language).toBe("de");
  });

  test("a field's value is the newest event's that carries one, even when a newer event without it came first", () => {
    const { profile } = foldAll([
      event({ occurred_at: "2026-11-25T08:00:00.000Z", country: "FR" }),
      event({ occurred_at: "2026-11-25T10:00:00.000Z" }),
      event({ occurred_at: "2026-11-25T09:00:00.000Z", country: "DE" }),
      event({ occurred_at: "2026-11-25T07:00:00.000Z", country: "IT" }),
    ]);
    expect(profile.country).toBe("DE");
    expect(profile.last_visit).toBe("2026-11-25T10:00:00.000Z");
  });

  test("total_purchases sums purchase cart amounts only; counts are per type", () => {
    const { profile } = foldAll([
      event({ type: "purchase", cart_amount: 19.5 }),
      event({ type: "add_to_cart", cart_amount: 100 }),
      event({ type: "purchase", cart_amount: 0.5 }),
      event({ type: "search", search_query: "shoes" }),
    ]);
    expect(profile.total_purchases).toBe(20);
    expect(profile.event_counts).toMatchObject({ purchase: 2, add_to_cart: 1, search: 1, page_view: 0 });
    expect(profile.events_total).toBe(4);
  });

  test("recent categories are newest first, unique and bounded", () => {
    const many = Array.from({ length: LIMITS.recentCategories + 5 }, (_, i) => `c${i}`);
    const state = foldAll([
      event({ category: ["shoes", "bags"] }),
      event({ category: many }),
      event({ category: ["shoes"] }),
    ]);
    expect(state.profile.recent_categories[0]).toBe("shoes");
    expect(state.profile.recent_categories.length).toBe(LIMITS.recentCategories);
    expect(new Set(state.profile.recent_categories).size).toBe(LIMITS.recentCategories);
    expect(state.profile.recent_categories[1]).toBe(`c${many.length - 1}`);
  });

  test("sessions count distinct session ids", () => {
    const { profile } = foldAll([
      event({ session_id: "s1" }),
      event({ session_id: "s1" }),
      event({ session_id: "s2" }),
      event({}),
      event({ session_id: "s1" }),
    ]);
    expect(profile.sessions).toBe(2);
  });

  test("a duplicate event_id counts once and changes nothing", () => {
    const purchase = event({ type: "purchase", cart_amount: 10 });
    const once = foldAll([purchase]);
    const again = foldProfile(once, purchase);
    expect(again.state).toBe(once);
    expect(again.emit ?? []).toEqual([]);
    expect(foldAll([purchase, event(), purchase]).profile.total_purchases).toBe(10);
  });

  test("duplicates are recognised within the last 64 events of the user", () => {
    const first = event();
    let state = foldAll([first]);
    expect(foldProfile(state, first).state).toBe(state);
    state = foldAll(
      Array.from({ length: LIMITS.recentEvents }, () => event()),
      state,
    );
    // Out of the window now: it would count again (documented in the README).
    expect(foldProfile(state, first).state).not.toBe(state);
    expect(JSON.stringify(state).length).toBeLessThan(3000);
  });

  test("add_to_cart emits one push action keyed by user, with the event id as idempotency key", () => {
    const cart = event({ type: "add_to_cart", category: ["shoes"], current_url: "https://shop/x" });
    const { emit } = foldProfile(undefined, cart);
    expect(emit).toEqual([
      {
        topic: "actions.push",
        key: "u1",
        value: {
          action_id: cart.event_id,
          kind: "add_to_cart_promotion",
          event_id: cart.event_id,
          user_id: "u1",
          partner_id: "p1",
          occurred_at: cart.occurred_at,
          category: ["shoes"],
          current_url: "https://shop/x",
        },
      },
    ]);
    expect(foldProfile(undefined, event({ type: "page_view" })).emit).toEqual([]);
  });
});
