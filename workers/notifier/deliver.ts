import type { PushAction } from "../../infra/platform/contracts/actions.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import { httpAttempt } from "../runtime/http-attempt.ts";
import type { Attempt } from "../runtime/retry.ts";

/**
 * An action's identity: its partner and its id (the event id), so a partner
 * reusing another's event ids can neither suppress nor repeat the other's
 * pushes. Also the delivery's Idempotency-Key.
 */
export const actionKey = (action: Pick<PushAction, "partner_id" | "action_id">) =>
  keyOf(action.partner_id, action.action_id);

/**
 * One delivery attempt: POST the action as JSON with its idempotency key
 * (partner and action id), classified as every service call is
 * (`httpAttempt`: 2xx delivered; 408, 429, 5xx, timeouts and network errors
 * retryable; any other 4xx never).
 */
export async function postAction(url: string, action: PushAction, timeoutMs: number): Promise<Attempt> {
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": actionKey(action) },
    body: JSON.stringify(action),
  };
  const answer = await httpAttempt("webhook", url, init, timeoutMs);
  if (!answer.ok) return answer;
  await answer.response.body?.cancel();
  return { ok: true };
}
