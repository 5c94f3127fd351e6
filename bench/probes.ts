import { type Summary, summarize } from "./lib/stats.ts";

/**
 * Every `intervalMs` for `seconds`, start a probe: `start(i)` makes its change
 * (resolving once the broker or database acknowledged it) and returns a check;
 * the check is polled every millisecond until it holds (the delay is kept)
 * or `timeoutMs` passes (the probe is missed). Probes overlap.
 */
export async function runProbes(
  { seconds, intervalMs, timeoutMs = 30_000 }: { seconds: number; intervalMs: number; timeoutMs?: number },
  start: (i: number) => Promise<() => Promise<boolean>>,
): Promise<{ probes: number; missed: number; delay: Summary }> {
  const delays: number[] = [];
  let missed = 0;
  const probe = async (i: number) => {
    const visible = await start(i);
    const acked = performance.now();
    while (performance.now() - acked < timeoutMs) {
      if (await visible()) {
        delays.push(performance.now() - acked);
        return;
      }
      await Bun.sleep(1);
    }
    missed++;
  };
  const probes: Promise<void>[] = [];
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    probes.push(probe(i));
    await Bun.sleep(intervalMs);
  }
  await Promise.all(probes);
  return { probes: delays.length, missed, delay: summarize(delays) };
}
