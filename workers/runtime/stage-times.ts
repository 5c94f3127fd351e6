/**
 * Where a worker's time goes, stage by stage (milliseconds, cumulative since
 * it started): waiting for the consumer to hand it records, decoding them
 * under the admission rule, loading the touched keys' state, folding, writing
 * the sinks, producing what it emits, the store's atomic commit, the consumer
 * offset commit, and (beside the lanes, off their path) the trailing sinks.
 * Two snapshots' difference says where the time between them went.
 */
export const STAGES = ["fetch", "decode", "load", "fold", "sinks", "emit", "store", "commit", "trailing"] as const;
export type Stage = (typeof STAGES)[number];
export type StageTimes = Record<Stage, number>;

export const noStageTimes = (): StageTimes => Object.fromEntries(STAGES.map((stage) => [stage, 0])) as StageTimes;

/** Add the time `work` takes to `stage`, whether it resolves or throws. */
export async function timed<T>(times: StageTimes, stage: Stage, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    times[stage] += performance.now() - started;
  }
}

/** The same, for work that does not wait. */
export function timedSync<T>(times: StageTimes, stage: Stage, work: () => T): T {
  const started = performance.now();
  try {
    return work();
  } finally {
    times[stage] += performance.now() - started;
  }
}

/**
 * The consumer's share: time while no batch of this worker is in hand, so
 * the runner is waiting for the client to fetch and decode the next one.
 * `enter` and `leave` bracket each batch (several may run at once, one per
 * partition).
 */
export function fetchClock(times: StageTimes) {
  let inHand = 0;
  let idleSince = performance.now();
  return {
    enter() {
      if (inHand++ === 0) times.fetch += performance.now() - idleSince;
    },
    leave() {
      if (--inHand === 0) idleSince = performance.now();
    },
  };
}

/** Each stage's share of the time spent between two snapshots, in percent (stages overlap across partitions, so shares of their sum). */
export function stageShares(before: StageTimes, after: StageTimes): Record<Stage, number> {
  const spent = STAGES.map((stage) => Math.max(0, after[stage] - before[stage]));
  const total = spent.reduce((a, b) => a + b, 0);
  return Object.fromEntries(STAGES.map((stage, i) => [stage, total === 0 ? 0 : (100 * spent[i]!) / total])) as Record<
    Stage,
    number
  >;
}
