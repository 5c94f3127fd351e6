import type { Attempt } from "./retry.ts";

/** Worth trying again: the server timed out, throttled or failed; any other 4xx will never succeed. */
export const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * One HTTP call to a service, classified for `withRetries`: a 2xx is the
 * response; 408, 429, 5xx, no answer within `timeoutMs` and network errors
 * are retryable; any other status is not. `service` names it in reasons.
 */
export async function httpAttempt(
  service: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ ok: true; response: Response } | Exclude<Attempt, { ok: true }>> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    if (response.ok) return { ok: true, response };
    await response.body?.cancel();
    return {
      ok: false,
      retryable: isRetryableStatus(response.status),
      reason: `${service} answered HTTP ${response.status}`,
    };
  } catch (error) {
    const reason =
      error instanceof Error && error.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : `request failed: ${(error as Error).message}`;
    return { ok: false, retryable: true, reason };
  }
}
