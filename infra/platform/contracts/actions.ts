import * as v from "valibot";
import { boundedArray, contract, Id, optionalText, Text, Timestamp } from "./fields.ts";

/**
 * `actions.push`, key user_id: a promotional push to deliver (SPEC §2.1).
 * `action_id` is the triggering event's id and the delivery's idempotency key.
 */
export const PushAction = contract({
  action_id: Id,
  kind: v.picklist(["add_to_cart_promotion"]),
  event_id: Id,
  user_id: Id,
  partner_id: Id,
  occurred_at: Timestamp,
  category: v.nullish(boundedArray(Text(256), 50, "categories")),
  current_url: optionalText(),
});

export type PushAction = v.InferOutput<typeof PushAction>;
