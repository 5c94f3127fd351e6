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
   * that is not late, checkouts no click that is not late can precede.
   */
  function prune(product: ProductState, clickTime: number | undefined, checkoutTime: number | undefined): ProductState {
    const clicks =
      checkoutTime === undefined
        ? product.clicks
        : product.clicks.filter((c) => c.at + ATTRIBUTION_WINDOW_MS >= checkoutTime - allowanceMs);
    const open = clickTime === undefined ? product.open : product.open.filter((o) => o.at >= clickTime - allowanceMs);
    return { clicks: clicks.slice(-MAX_KEPT), open: open.slice(-MAX_KEPT) };
  }

  /** The state with one product replaced, every product pruned to the streams' progress. */
  function settle(
    state: AttributionState | undefined,
    productId: string,
    product: ProductState,
    clickTime: number | undefined,
    checkoutTime: number | undefined,
  ): AttributionState | null {
    const products: Record<string, ProductState> = {};
    for (const [id, kept] of Object.entries({ ...state?.products, [productId]: product })) {
      const pruned = prune(kept, clickTime, checkoutTime);
      if (pruned.clicks.length > 0 || pruned.open.length > 0) products[id] = pruned;
    }
    return Object.keys(products).length === 0 ? null : { products };
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
