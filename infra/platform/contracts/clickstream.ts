import * as v from "valibot";
import { Amount, boundedArray, contract, Id, optionalText, Text, Timestamp } from "./fields.ts";
import { EmailHash } from "./identity.ts";

export const EVENT_TYPES = [
  "page_view",
  "search",
  "add_to_cart",
  "remove_from_cart",
  "wishlist",
  "purchase",
  "session_start",
  "identify",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * `clickstream.events`, key user_id, or anonymous_id when there is none
 * (SPEC §8). An `identify` event says that the identifiers it carries
 * (user_id, anonymous_id, email_hash, device_id) belong to one person (§2.7).
 */
export const ClickstreamEvent = v.pipe(
  contract({
    event_id: Id,
    type: v.picklist(EVENT_TYPES, `expected one of ${EVENT_TYPES.join(", ")}`),
    user_id: v.nullish(Id),
    anonymous_id: v.nullish(Id),
    email_hash: v.nullish(EmailHash),
    device_id: v.nullish(Id),
    partner_id: Id,
    occurred_at: Timestamp,
    session_id: v.nullish(Id),
    partner_name: optionalText(256),
    country: optionalText(64),
    language: optionalText(64),
    version: optionalText(64),
    user_agent: optionalText(),
    referrer: optionalText(),
    current_url: optionalText(),
    page_type: optionalText(128),
    category: v.nullish(boundedArray(Text(256), 50, "categories")),
    search_query: optionalText(),
    cart_amount: v.nullish(Amount),
  }),
  v.forward(
    v.check(
      (event) => event.type !== "purchase" || typeof event.cart_amount === "number",
      "is required when type is purchase",
    ),
    ["cart_amount"],
  ),
  v.forward(
    v.check((event) => event.user_id != null || event.anonymous_id != null, "is required unless anonymous_id is given"),
    ["user_id"],
  ),
);

/** The record key: the user, or the device or cookie when the user is not known. */
export const clickstreamKey = (event: Pick<ClickstreamEvent, "user_id" | "anonymous_id">): string =>
  (event.user_id ?? event.anonymous_id)!;

export type ClickstreamEvent = v.InferOutput<typeof ClickstreamEvent>;
