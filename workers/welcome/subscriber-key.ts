import type { Attempt } from "../runtime/retry.ts";

export type KeyAttempt = Exclude<Attempt, { ok: true }> | { ok: true; subscriberKey: string };

/**
 * One request for a member's subscriber key. 2xx with a key is a key; 408,
 * 429, 5xx, timeouts and network errors are worth retrying; any other 4xx
 * (or a 2xx without a key) will never succeed.
 */
export async function requestSubscriberKey(baseUrl: string, memberId: string, timeoutMs: number): Promise<KeyAttempt> {
  try {
    const response = await fetch(`${baseUrl.replace(/\/$/, "")}/v1/subscriber-keys/${encodeURIComponent(memberId)}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.ok) {
      const body = (await response.json().catch(() => ({}))) as { subscriber_key?: unknown };
      if (typeof body.subscriber_key === "string" && body.subscriber_key.length > 0 && body.subscriber_key.length <= 128) return { ok: true, subscriberKey: body.subscriber_key };
      return { ok: false, retryable: false, reason: "key service answered without a subscriber_key" };
    }
    await response.body?.cancel();
    const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
    return { ok: false, retryable, reason: `key service answered HTTP ${response.status}` };
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `request failed: ${(error as Error).message}`;
    return { ok: false, retryable: true, reason };
  }
}
