import * as v from "valibot";
import { Amount, contract, Id, optionalText, Timestamp } from "./fields.ts";

/** Checkout attribution's inputs (SPEC §2.3, §8), both keyed by user_id so a user's clicks and checkouts meet in one partition. */

/** `commerce.clicks`, key user_id. */
export const Click = contract({
  click_id: Id,
  user_id: Id,
  product_id: Id,
  occurred_at: Timestamp,
  product: optionalText(512),
  price: v.nullish(Amount),
  url: optionalText(),
  user_agent: optionalText(),
  ip_address: optionalText(64),
});
export type Click = v.InferOutput<typeof Click>;

/** `commerce.checkouts`, key user_id. */
export const Checkout = contract({
  checkout_id: Id,
  user_id: Id,
  product_id: Id,
  total_amount: Amount,
  occurred_at: Timestamp,
  payment_method: optionalText(64),
  shipping_address: optionalText(1024),
  billing_address: optionalText(1024),
  user_agent: optionalText(),
  ip_address: optionalText(64),
});
export type Checkout = v.InferOutput<typeof Checkout>;

/** The click a checkout is attributed to, as carried on `commerce.attributed`. */
export const AttributedClick = contract({ click_id: Id, occurred_at: Timestamp, url: optionalText() });
export type AttributedClick = v.InferOutput<typeof AttributedClick>;

/**
 * `commerce.attributed`, key user_id: a checkout and its first click in the
 * hour before it (null: none yet). A checkout may appear several times, each
 * time with an earlier click (a late click corrected it); the earliest wins.
 */
export const Attribution = contract({ checkout: Checkout, click: v.nullable(AttributedClick) });
export type Attribution = v.InferOutput<typeof Attribution>;
