/**
 * Exponential backoff with full jitter: attempt n (from 1) waits a random
 * time up to min(cap, base * 2^(n-1)), so many failing callers spread out
 * instead of retrying in step.
 */
export function backoffMs(attempt: number, baseMs: number, capMs = 30_000, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

export type Attempt = { ok: true } | { ok: false; retryable: boolean; reason: string };

/** Call `attempt` until it succeeds, says it cannot, or `maxAttempts` run out; the last reason is kept. */
export async function withRetries(
  attempt: (n: number) => Promise<Attempt>,
  options: { maxAttempts: number; baseMs: number; capMs?: number; onRetry?(n: number, reason: string): void },
): Promise<{ ok: true; attempts: number } | { ok: false; attempts: number; reason: string }> {
  for (let n = 1; ; n++) {
    const result = await attempt(n);
    if (result.ok) return { ok: true, attempts: n };
    if (!result.retryable || n >= options.maxAttempts) return { ok: false, attempts: n, reason: result.reason };
    options.onRetry?.(n, result.reason);
    await Bun.sleep(backoffMs(n, options.baseMs, options.capMs));
  }
}

/** Run `task` over `items` with at most `limit` in flight. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  });
  await Promise.all(lanes);
}
