import { describe, expect, test } from "bun:test";
import type { Attribution, Checkout, Click } from "../infra/platform/contracts/commerce.ts";
import { type AttributionState, attributionFold, type CommerceEvent } from "../workers/attribution/fold.ts";
import { keepEarliestClick, type RowClick } from "../workers/attribution/table.ts";

/**
 * The attribution rule as pure folds: the first stage over a given
 * interleaving of the two streams (tracking stream times as the runner does),
 * then the row stage keeping the earliest click per checkout.
 */

const rules = {
  clicksTopic: "clicks",
  checkoutsTopic: "checkouts",
  attributedTopic: "attributed",
  allowanceMs: 15_000,
};
const HOUR = 3_600_000;
const T0 = Date.parse("2026-11-25T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

const click = (id: string, at: number, product = "p1", user = "u1"): CommerceEvent => ({
  kind: "click",
  click: { click_id: id, user_id: user, product_id: product, occurred_at: iso(at) } as Click,
});
const checkout = (id: string, at: number, product = "p1", user = "u1"): CommerceEvent => ({
  kind: "checkout",
  checkout: { checkout_id: id, user_id: user, product_id: product, total_amount: 10, occurred_at: iso(at) } as Checkout,
});

/** Run events in this order through both stages; checkout_id -> attributed click_id (null: none). */
function attribute(events: CommerceEvent[]): Record<string, string | null> {
  const fold = attributionFold(rules);
  const states = new Map<string, AttributionState>();
  const times = new Map<string, number>();
  const rows = new Map<string, { row: RowClick; click: string | null }>();
  for (const event of events) {
    const user = event.kind === "click" ? event.click.user_id : event.checkout.user_id;
    const topic = event.kind === "click" ? rules.clicksTopic : rules.checkoutsTopic;
    const folded = fold(states.get(user), event, undefined, times);
    if (folded.state === null) states.delete(user);
    else states.set(user, folded.state);
    const at = Date.parse(event.kind === "click" ? event.click.occurred_at : event.checkout.occurred_at);
    times.set(topic, Math.max(at, times.get(topic) ?? at));
    for (const record of folded.emit ?? []) {
      const attribution = record.value as Attribution;
      const id = attribution.checkout.checkout_id;
      const kept = keepEarliestClick(rows.get(id)?.row, attribution);
      if (kept.state !== rows.get(id)?.row)
        rows.set(id, { row: kept.state!, click: attribution.click?.click_id ?? null });
    }
  }
  return Object.fromEntries([...rows].map(([id, { click }]) => [id, click]));
}

/** Every interleaving that keeps each stream's own order, sampled with a fixed seed. */
function interleavings(clicks: CommerceEvent[], checkouts: CommerceEvent[], count: number): CommerceEvent[][] {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, () => {
    const merged: CommerceEvent[] = [];
    let i = 0;
    let j = 0;
    while (i < clicks.length || j < checkouts.length) {
      if (j >= checkouts.length || (i < clicks.length && random() < 0.5)) merged.push(clicks[i++]!);
      else merged.push(checkouts[j++]!);
    }
    return merged;
  });
}

describe("checkout attribution rule", () => {
  test("a click exactly one hour before the checkout is attributed; one millisecond earlier is not", () => {
    expect(attribute([click("c1", T0 - HOUR), checkout("k1", T0)])).toEqual({ k1: "c1" });
    expect(attribute([click("c1", T0 - HOUR - 1), checkout("k1", T0)])).toEqual({ k1: null });
  });

  test("a click at the checkout's own time counts; a click after it does not", () => {
    expect(attribute([click("c1", T0), checkout("k1", T0)])).toEqual({ k1: "c1" });
    expect(attribute([click("c1", T0 + 1), checkout("k1", T0)])).toEqual({ k1: null });
  });

  test("of two clicks in the hour, the earliest wins, whichever arrived first", () => {
    expect(attribute([click("c1", T0 - 50_000), click("c2", T0 - 40_000), checkout("k1", T0)])).toEqual({ k1: "c1" });
    expect(attribute([click("c2", T0 - 10_000), click("c1", T0 - 20_000), checkout("k1", T0)])).toEqual({ k1: "c1" });
  });

  test("equal click times: the smaller click_id wins", () => {
    expect(attribute([click("cb", T0 - 5), click("ca", T0 - 5), checkout("k1", T0)])).toEqual({ k1: "ca" });
  });

  test("only clicks of the same user and product count", () => {
    expect(attribute([click("c1", T0 - 10, "p2"), click("c2", T0 - 10, "p1", "u2"), checkout("k1", T0)])).toEqual({
      k1: null,
    });
  });

  test("repeated checkouts of a product each get their own row and their own first click", () => {
    const events = [
      click("c1", T0 - 10 * 60_000),
      checkout("k1", T0),
      click("c2", T0 + 40 * 60_000),
      checkout("k2", T0 + 45 * 60_000),
    ];
    expect(attribute(events)).toEqual({ k1: "c1", k2: "c1" });
    const later = [
      click("c1", T0),
      checkout("k1", T0 + 1000),
      click("c2", T0 + 2 * HOUR),
      checkout("k2", T0 + 2 * HOUR + 5),
    ];
    expect(attribute(later)).toEqual({ k1: "c1", k2: "c2" });
  });

  test("a checkout with no click still gets a row", () => {
    expect(attribute([checkout("k1", T0), checkout("k2", T0 + 1)])).toEqual({ k1: null, k2: null });
  });

  test("a checkout read before the clicks that precede it is corrected when they arrive", () => {
    expect(attribute([checkout("k1", T0), click("c2", T0 - 1000), click("c1", T0 - 2000)])).toEqual({ k1: "c1" });
  });

  test("a click late by up to the allowance behind the click stream still counts; beyond it, not", () => {
    const ahead = click("c-ahead", T0 + 60_000, "other");
    expect(attribute([ahead, checkout("k1", T0 + 45_000), click("c-late", T0 + 45_000 - 1)])).toEqual({ k1: null });
    expect(attribute([ahead, checkout("k1", T0 + 46_000), click("c-late", T0 + 45_000)])).toEqual({ k1: "c-late" });
    expect(attribute([ahead, checkout("k1", T0 + 46_000), click("c-late", T0 + 45_000 - 1)])).toEqual({ k1: null });
  });

  test("lateness is judged on the click stream, not on how far the checkouts have gone", () => {
    // Checkouts are an hour ahead; the click stream itself is in order.
    expect(attribute([checkout("k0", T0 + 2 * HOUR, "p9"), checkout("k1", T0 + 30_000), click("c1", T0)])).toEqual({
      k0: null,
      k1: "c1",
    });
  });

  test("the result does not depend on how the two streams interleave", () => {
    const clicks: CommerceEvent[] = [];
    const checkouts: CommerceEvent[] = [];
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 200; i++) {
      // Clicks mostly in order, some a few seconds late (within the allowance).
      const at = T0 + i * 30_000 - Math.floor(random() * 10_000);
      clicks.push(click(`c${i}`, at, `p${i % 4}`, `u${i % 3}`));
      if (i % 3 === 0)
        checkouts.push(
          checkout(
            `k${i}`,
            T0 + i * 30_000 + Math.floor(random() * 20 * 60_000),
            `p${Math.floor(random() * 6)}`,
            `u${i % 3}`,
          ),
        );
    }
    checkouts.sort(
      (a, b) =>
        Date.parse((a as { checkout: Checkout }).checkout.occurred_at) -
        Date.parse((b as { checkout: Checkout }).checkout.occurred_at),
    );
    const results = interleavings(clicks, checkouts, 20).map((order) => attribute(order));
    const first = attribute([...checkouts, ...clicks]);
    expect(results.length).toBe(20);
    for (const result of results) expect(result).toEqual(first);
    expect(attribute([...clicks, ...checkouts])).toEqual(first);
    expect(Object.values(first).filter((c) => c !== null).length).toBeGreaterThan(5);
    expect(Object.values(first).filter((c) => c === null).length).toBeGreaterThan(2);
  });

  test("state keeps only what the rule can still need", () => {
    const fold = attributionFold(rules);
    const times = new Map([
      ["clicks", T0 + 2 * HOUR],
      ["checkouts", T0 + 2 * HOUR],
    ]);
    let state: AttributionState | null = fold(
      undefined,
      click("old", T0 + HOUR - 20_000),
      undefined,
      new Map([["checkouts", T0]]),
    ).state;
    state = fold(state ?? undefined, checkout("k1", T0 + HOUR), undefined, new Map([["clicks", T0 + HOUR]])).state;
    expect(state!.products.p1!.clicks.length).toBe(1);
    expect(state!.products.p1!.open.length).toBe(1);
    // Both streams two hours on: the old click can serve no checkout, the checkout no click.
    state = fold(state ?? undefined, click("new", T0 + 2 * HOUR + 1, "p2"), undefined, times).state;
    expect(Object.keys(state!.products)).toEqual(["p2"]);
  });

  test("a state settled in memory keeps exactly what the same state read back from the store keeps", () => {
    // Settling skips the products it need not visit only for states it settled itself; a state read from the store
    // (no memory of its oldest entries) visits them all. Both must keep and emit the same at every step.
    const fold = attributionFold(rules);
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const times = { inMemory: new Map<string, number>(), readBack: new Map<string, number>() };
    let inMemory: AttributionState | undefined;
    let readBack: AttributionState | undefined;
    let now = T0;
    let prunedElsewhere = 0;
    const size = (state: AttributionState | undefined, except: string) =>
      Object.entries(state?.products ?? {}).reduce(
        (n, [id, kept]) => (id === except ? n : n + kept.clicks.length + kept.open.length),
        0,
      );
    for (let i = 0; i < 3000; i++) {
      now += Math.floor(random() * 20_000);
      const product = `p${Math.floor(random() * 40)}`;
      // Some events arrive up to a minute behind their stream: late ones too.
      const at = now - Math.floor(random() * 60_000);
      const event = random() < 0.8 ? click(`c${i}`, at, product) : checkout(`k${i}`, at, product);
      const a = fold(inMemory, event, undefined, times.inMemory);
      const b = fold(readBack, event, undefined, times.readBack);
      expect(a.emit ?? []).toEqual(b.emit ?? []);
      expect(a.state).toEqual(b.state);
      // What settling dropped from the products the event did not touch.
      if (size(a.state ?? undefined, product) < size(inMemory, product)) prunedElsewhere++;
      inMemory = a.state ?? undefined;
      readBack = a.state === null ? undefined : (JSON.parse(JSON.stringify(b.state)) as AttributionState);
      const topic = event.kind === "click" ? rules.clicksTopic : rules.checkoutsTopic;
      for (const clock of Object.values(times)) clock.set(topic, Math.max(at, clock.get(topic) ?? at));
    }
    expect(prunedElsewhere).toBeGreaterThan(100);
  });

  test("a click stamped ahead of when it was written moves the click stream only to that write time: open checkouts stay open", () => {
    const fold = attributionFold(rules);
    const written = { writtenAt: T0 + 10 };
    let state = fold(undefined, checkout("k1", T0), written, new Map()).state ?? undefined;
    // Four minutes ahead (within the allowed clock skew), written at T0 + 10 ms.
    state =
      fold(state, click("ahead", T0 + 4 * 60_000, "p2"), written, new Map([["checkouts", T0]])).state ?? undefined;
    expect(state!.products.p1!.open.map((o) => o.checkout.checkout_id)).toEqual(["k1"]);
    const genuine = fold(
      state,
      click("genuine", T0 - 5000),
      { writtenAt: T0 + 20 },
      new Map([
        ["clicks", T0 + 10],
        ["checkouts", T0],
      ]),
    );
    expect(genuine.emit?.map((r) => (r.value as Attribution).click?.click_id)).toEqual(["genuine"]);
    // Without the bound (the click taken at its word), the same click would have closed k1.
    const unbounded = fold(undefined, checkout("k1", T0), undefined, new Map()).state ?? undefined;
    expect(
      fold(unbounded, click("ahead", T0 + 4 * 60_000, "p2"), undefined, new Map([["checkouts", T0]])).state?.products
        .p1,
    ).toBeUndefined();
  });
});
