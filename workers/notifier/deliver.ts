import type { PushAction } from "../../infra/platform/contracts/actions.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import type { Attempt } from "../runtime/retry.ts";

/**
 * An action's identity: its partner and its id (the event id), so a partner
 * reusing another's event ids can neither suppress nor repeat the other's
 * pushes. Also the delivery's Idempotency-Key.
 */
export const actionKey = (action: Pick<PushAction, "partner_id" | "action_id">) => keyOf(action.partner_id, action.action_id);

/**
 * One delivery attempt: POST the action as JSON with its idempotency key
 * (partner and action id).
 * 2xx is delivered; 408, 429, 5xx, timeouts and network errors are worth
 * retrying; any other 4xx will never succeed.
 */
export async function postAction(url: string, action: PushAction, timeoutMs: number): Promise<Attempt> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": actionKey(action) },
      body: JSON.stringify(action),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (response.ok) return { ok: true };
    const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
    return { ok: false, retryable, reason: `webhook answered HTTP ${response.status}` };
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `request failed: ${(error as Error).message}`;
    return { ok: false, retryable: true, reason };
  }
}
