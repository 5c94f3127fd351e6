import type { Attempt } from "./retry.ts";

export type BreakerState = "closed" | "open" | "half-open";
export type BreakerStats = { state: BreakerState; opened: number; closed: number };

/**
 * A circuit breaker for calls to one service. After `failureThreshold`
 * transient failures in a row it opens: callers wait instead of calling.
 * After `cooldownMs` one caller probes (half-open); its success closes the
 * breaker and lets everyone through, its failure opens it again. An answer
 * that is not worth retrying (a 4xx) still shows the service is up.
 */
export function circuitBreaker(options: {
  failureThreshold: number;
  cooldownMs: number;
  onChange?(state: BreakerState): void;
}) {
  const stats: BreakerStats = { state: "closed", opened: 0, closed: 0 };
  let failures = 0;
  let openedAt = 0;

  const move = (state: BreakerState) => {
    if (stats.state === state) return;
    if (state === "open") stats.opened++;
    if (state === "closed") stats.closed++;
    stats.state = state;
    options.onChange?.(state);
  };

  /** Wait until a call may go out; true when this caller is the half-open probe. */
  async function admit(): Promise<boolean> {
    for (;;) {
      if (stats.state === "closed") return false;
      if (stats.state === "open") {
        const wait = openedAt + options.cooldownMs - Date.now();
        if (wait <= 0) {
          move("half-open");
          return true;
        }
        await Bun.sleep(wait);
        continue;
      }
      // A probe is out: its answer decides.
      await Bun.sleep(Math.min(50, options.cooldownMs));
    }
  }

  return {
    stats,
    /** Make the call when the breaker lets it; `probe` says it was made as the half-open probe. */
    async call<R extends Attempt>(attempt: () => Promise<R>): Promise<{ result: R; probe: boolean }> {
      const probe = await admit();
      const result = await attempt();
      if (result.ok || !result.retryable) {
        failures = 0;
        move("closed");
      } else {
        failures++;
        if (probe || failures >= options.failureThreshold) {
          openedAt = Date.now();
          move("open");
        }
      }
      return { result, probe };
    },
  };
}
