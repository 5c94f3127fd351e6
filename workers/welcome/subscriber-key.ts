import { httpAttempt } from "../runtime/http-attempt.ts";
import type { Attempt } from "../runtime/retry.ts";

export type KeyAttempt = Exclude<Attempt, { ok: true }> | { ok: true; subscriberKey: string };

/**
 * One request for a member's subscriber key, classified as every service
 * call is (`httpAttempt`); a 2xx without a usable key will never succeed.
 */
export async function requestSubscriberKey(baseUrl: string, memberId: string, timeoutMs: number): Promise<KeyAttempt> {
  const answer = await httpAttempt(
    "key service",
    `${baseUrl.replace(/\/$/, "")}/v1/subscriber-keys/${encodeURIComponent(memberId)}`,
    {},
    timeoutMs,
  );
  if (!answer.ok) return answer;
  const body = (await answer.response.json().catch(() => ({}))) as { subscriber_key?: unknown };
  const key = body.subscriber_key;
  if (typeof key === "string" && key.length > 0 && key.length <= 128) return { ok: true, subscriberKey: key };
  return { ok: false, retryable: false, reason: "key service answered without a subscriber_key" };
}
