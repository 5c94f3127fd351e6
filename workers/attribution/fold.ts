import type { AttributedClick, Attribution, Checkout, Click } from "../../infra/platform/contracts/commerce.ts";
import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import type { Folded, InputRecord, StreamTimes } from "../runtime/worker.ts";

/** First-click attribution looks this far back from a checkout (SPEC §2.3). */
export const ATTRIBUTION_WINDOW_MS = 60 * 60 * 1000;
/** Per user and product: clicks kept, checkouts kept open. Beyond it the oldest go first. */
export const MAX_KEPT = 256;

export type CommerceEvent = { kind: "click"; click: Click } | { kind: "checkout"; checkout: Checkout };

type KeptClick = { id: string; at: number; url: string | null };
/** A checkout a click not yet late could still attribute (or attribute earlier). */
type OpenCheckout = { checkout: Checkout; at: number; click: KeptClick | null };
type ProductState = { clicks: KeptClick[]; open: OpenCheckout[] };

/** Per user: what the rule can still need, by product. */
export type AttributionState = { products: Record<string, ProductState> };

export type AttributionRules = {
  clicksTopic: string;
  checkoutsTopic: string;
  attributedTopic: string;
  /** How far behind the click stream's newest event time a click still counts. */
  allowanceMs: number;
};

/** Earlier wins; the smaller id breaks a tie, so the choice never depends on arrival order. */
const earlier = (a: KeptClick, b: KeptClick | null) => b === null || a.at < b.at || (a.at === b.at && a.id < b.id);
const inWindow = (click: KeptClick, checkoutAt: number) =>
  checkoutAt - ATTRIBUTION_WINDOW_MS <= click.at && click.at <= checkoutAt;

const toAttributedClick = (click: KeptClick): AttributedClick => ({
  click_id: click.id,
  occurred_at: new Date(click.at).toISOString(),
  url: click.url,
});

/** The oldest event times a state keeps, at most: what settling it compares with the cuts. */
type Oldest = { click: number; open: number };
const NOTHING_KEPT: Oldest = { click: Infinity, open: Infinity };
/** Per state object (states are never changed in place); a state read from the store has none until settled once. */
const oldest = new WeakMap<AttributionState, Oldest>();
const remember = (state: AttributionState, bounds: Oldest) => {
  oldest.set(state, bounds);
  return state;
};
const isEmpty = (product: ProductState) => product.clicks.length === 0 && product.open.length === 0;
const lower = (bounds: Oldest, product: ProductState): Oldest => {
  let open = bounds.open;
  for (const o of product.open) if (o.at < open) open = o.at;
  return { click: Math.min(bounds.click, product.clicks[0]?.at ?? Infinity), open };
};

/**
 * Checkout attribution as a fold over one user's clicks and checkouts, keyed
 * by user_id (both topics are, so they meet in one partition number).
 *
 * The rule: a checkout's click is the earliest click by the same user on the
 * same product with checkout - 1 h <= click <= checkout, in event time. The
 * two streams progress independently, so either may come first:
 * - a checkout takes the earliest matching click already kept, and stays
 *   open while a click that is not late could still precede it;
 * - a click that is not late (at most `allowanceMs` behind the click
 *   stream's newest event time) improves every open checkout it precedes,
 *   and is kept while a checkout that is not late could still want it.
 * Every checkout is emitted when it arrives and again whenever its click
 * improves; downstream keeps the earliest, so the result is the same in
 * whichever order the two streams were read. A click later than the
 * allowance is ignored (it stays in the raw topic).
 */
export function attributionFold(rules: AttributionRules) {
  const { allowanceMs } = rules;

  const attribution = (open: OpenCheckout): OutRecord => ({
    topic: rules.attributedTopic,
    key: open.checkout.user_id,
    value: { checkout: open.checkout, click: open.click && toAttributedClick(open.click) } satisfies Attribution,
  });

  /**
   * Drop what no future record can use: clicks too old for any checkout
   * that is not late (before `clickCut`), checkouts no click that is not
   * late can precede (before `openCut`). The product itself when nothing goes.
   */
  function prune(product: ProductState, clickCut: number, openCut: number): ProductState {
    // Clicks are kept in event-time order, so the first is the oldest.
    const dropsClicks = product.clicks.length > MAX_KEPT || (product.clicks[0]?.at ?? Infinity) < clickCut;
    const dropsOpen = product.open.length > MAX_KEPT || product.open.some((o) => o.at < openCut);
    if (!dropsClicks && !dropsOpen) return product;
    return {
      clicks: dropsClicks ? product.clicks.filter((c) => c.at >= clickCut).slice(-MAX_KEPT) : product.clicks,
      open: dropsOpen ? product.open.filter((o) => o.at >= openCut).slice(-MAX_KEPT) : product.open,
    };
  }

  /**
   * The state with one product replaced, every product pruned to the streams'
   * progress. A user may keep many products: while the oldest click and
   * checkout kept (a lower bound, remembered per state) are past the cuts,
   * nothing but the replaced product can go, and the others are not visited.
   */
  function settle(
    state: AttributionState | undefined,
    productId: string,
    product: ProductState,
    clickTime: number | undefined,
    checkoutTime: number | undefined,
  ): AttributionState | null {
    const clickCut = checkoutTime === undefined ? -Infinity : checkoutTime - allowanceMs - ATTRIBUTION_WINDOW_MS;
    const openCut = clickTime === undefined ? -Infinity : clickTime - allowanceMs;
    const replaced = prune(product, clickCut, openCut);
    const kept = state && oldest.get(state);
    // A replaced product left empty (rare) takes the full visit, which drops it.
    if (state && kept && kept.click >= clickCut && kept.open >= openCut && !isEmpty(replaced))
      return remember({ products: { ...state.products, [productId]: replaced } }, lower(kept, replaced));
    const products: Record<string, ProductState> = {};
    let bounds = NOTHING_KEPT;
    for (const [id, candidate] of Object.entries({ ...state?.products, [productId]: product })) {
      const pruned = id === productId ? replaced : prune(candidate, clickCut, openCut);
      if (isEmpty(pruned)) continue;
      products[id] = pruned;
      bounds = lower(bounds, pruned);
    }
    return bounds === NOTHING_KEPT ? null : remember({ products }, bounds);
  }

  function onClick(
    state: AttributionState | undefined,
    click: Click,
    times: StreamTimes,
    writtenAt: number,
  ): Folded<AttributionState> {
    const streamTime = times.get(rules.clicksTopic);
    const at = Date.parse(click.occurred_at);
    if (streamTime !== undefined && at < streamTime - allowanceMs) return { state: state ?? null };
    const current = state?.products[click.product_id] ?? { clicks: [], open: [] };
    if (current.clicks.some((c) => c.id === click.click_id)) return { state: state ?? null };

    const kept: KeptClick = { id: click.click_id, at, url: click.url ?? null };
    const emit: OutRecord[] = [];
    const open = current.open.map((o) => {
      if (!inWindow(kept, o.at) || !earlier(kept, o.click)) return o;
      const improved = { ...o, click: kept };
      emit.push(attribution(improved));
      return improved;
    });
    const clicks = [...current.clicks, kept].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return {
      state: settle(
        state,
        click.product_id,
        { clicks, open },
        progress(at, streamTime, writtenAt),
        times.get(rules.checkoutsTopic),
      ),
      emit,
    };
  }

  function onCheckout(
    state: AttributionState | undefined,
    checkout: Checkout,
    times: StreamTimes,
    writtenAt: number,
  ): Folded<AttributionState> {
    const current = state?.products[checkout.product_id] ?? { clicks: [], open: [] };
    if (current.open.some((o) => o.checkout.checkout_id === checkout.checkout_id)) return { state: state ?? null };

    const at = Date.parse(checkout.occurred_at);
    const click = current.clicks.find((c) => inWindow(c, at)) ?? null;
    const opened: OpenCheckout = { checkout, at, click };
    const streamTime = times.get(rules.checkoutsTopic);
    const product = { clicks: current.clicks, open: [...current.open, opened] };
    return {
      state: settle(
        state,
        checkout.product_id,
        product,
        times.get(rules.clicksTopic),
        progress(at, streamTime, writtenAt),
      ),
      emit: [attribution(opened)],
    };
  }

  /** A stream's time after an event: never back, and never past when the event's record was written (as the runner keeps it). */
  const progress = (at: number, streamTime: number | undefined, writtenAt: number) =>
    Math.max(Math.min(at, writtenAt), streamTime ?? -Infinity);

  /** `record` absent (pure tests): no write time bounds the streams. */
  return (
    state: AttributionState | undefined,
    event: CommerceEvent,
    record: Pick<InputRecord, "writtenAt"> | undefined,
    times: StreamTimes,
  ): Folded<AttributionState> =>
    event.kind === "click"
      ? onClick(state, event.click, times, record?.writtenAt ?? Infinity)
      : onCheckout(state, event.checkout, times, record?.writtenAt ?? Infinity);
}
