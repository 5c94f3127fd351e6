import type { Config } from "../../infra/platform/config.ts";
import { describeGroups } from "../../infra/platform/kafka/inspect.ts";
import type { RedisClient } from "../../infra/platform/redis-keys.ts";
import { WORKERS } from "../../infra/platform/topology.ts";
import { viewStates } from "../http/readiness.ts";

export type Sample = { at: number; lag: Record<string, number>; records: Record<string, number> };

const EVERY_MS = 10_000;
const KEEP = 90;

/**
 * The console's memory of the last 15 minutes: every 10 s, each worker
 * group's lag (and that of any group whose page was opened) and each worker's folded-record count, so pages can draw lag
 * over time and a rate. Starts when the console is first opened (an API
 * nobody inspects never polls the broker for it); Prometheus keeps the
 * long history.
 */
export function consoleHistory(config: Config, redis: RedisClient) {
  const samples: Sample[] = [];
  let timer: Timer | undefined;
  const groupOf = (worker: string) => `${config.CONSUMER_GROUP_PREFIX}${worker}`;
  // The workers' groups, and any other group whose page was opened.
  const watched = new Set(Object.keys(WORKERS).map(groupOf));
  const take = async () => {
    const [groups, statuses] = await Promise.all([
      describeGroups(config, [...watched]),
      viewStates(redis).catch(() => ({}) as Awaited<ReturnType<typeof viewStates>>),
    ]);
    const records = Object.fromEntries(
      Object.entries(statuses).flatMap(([name, s]) =>
        typeof (s as { records?: unknown }).records === "number" ? [[name, (s as { records: number }).records]] : [],
      ),
    );
    samples.push({ at: Date.now(), lag: Object.fromEntries(groups.map((g) => [g.groupId, g.lag])), records });
    if (samples.length > KEEP) samples.shift();
  };
  return {
    samples,
    groupOf,
    /** Begin sampling (once); the first sample is taken now. */
    async start(): Promise<void> {
      if (timer) return;
      timer = setInterval(() => void take().catch(() => {}), EVERY_MS);
      timer.unref?.();
      await take().catch(() => {});
    },
    /** Sample this group too from now on. */
    watch: (groupId: string) => void watched.add(groupId),
    /** Records per second a worker folded between the last two samples that know it. */
    rate(worker: string): number | undefined {
      const known = samples.filter((s) => worker in s.records);
      const [a, b] = known.slice(-2);
      if (!a || !b || b.at === a.at) return undefined;
      return Math.max(0, (b.records[worker]! - a.records[worker]!) / ((b.at - a.at) / 1000));
    },
    lagSeries: (groupId: string) =>
      samples.flatMap((s) => (groupId in s.lag ? [{ at: s.at, value: s.lag[groupId]! }] : [])),
    stop: () => clearInterval(timer),
  };
}

export type ConsoleHistory = ReturnType<typeof consoleHistory>;

/** A small line of values, as an inline SVG (no script). */
export function sparkline(points: { value: number }[], width = 160, height = 28): string {
  if (points.length < 2) return "";
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = width / (points.length - 1);
  const path = points
    .map((p, i) => `${(i * step).toFixed(1)},${(height - (p.value / max) * (height - 2) - 1).toFixed(1)}`)
    .join(" ");
  return `<svg width="${width}" height="${height}" role="img" aria-label="lag over time, at most ${max}"><polyline fill="none" stroke="#3559c7" stroke-width="1.5" points="${path}"/></svg>`;
}
