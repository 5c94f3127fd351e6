import * as v from "valibot";
import { contract, Id, optionalText, Timestamp } from "./fields.ts";

export const PUSH_ACTIONS_TOPIC = "actions.push";

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
  category: v.nullish(v.array(v.string())),
  current_url: optionalText(),
});

export type PushAction = v.InferOutput<typeof PushAction>;
