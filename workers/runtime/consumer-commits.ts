import type { TopicPartition } from "./worker.ts";

type Options = {
  /** One OffsetCommit request: per partition, the next offset to read. */
  commit(offsets: (TopicPartition & { offset: string })[]): Promise<void>;
  /** How far a partition may be committed, given the store's last commit: no further than a trailing sink wrote (undefined: nothing yet). */
  upTo(tp: TopicPartition, stored: bigint): bigint | undefined;
  failed(error: unknown): void;
  /** After a failed commit, when its partitions are tried again. */
  retryMs?: number;
};

const keyOf = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

/**
 * A worker's consumer offsets, committed behind its store and never waited
 * for by a chunk. The store's applied offsets already make a replay a no-op
 * (SPEC §3.2), so the group's offset only says where a restart starts
 * reading; a chunk that waited for it would add a broker round trip to every
 * hop of a pipeline. Every partition that moved while a commit was in flight
 * goes in the next one: one OffsetCommit request per round trip, not one
 * per chunk. Offsets only move forward, and `forget` (a rejoin, a reset)
 * drops what an older assignment had stored.
 */
export function consumerCommits({ commit, upTo, failed, retryMs = 1000 }: Options) {
  const stored = new Map<string, { tp: TopicPartition; offset: bigint }>();
  const committed = new Map<string, bigint>();
  const due = new Set<string>();
  let running: Promise<void> | undefined;
  const retrying = new Set<string>();
  let retry: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;
  let closed = false;

  const run = async () => {
    while (due.size > 0 && !closed) {
      const offsets: (TopicPartition & { offset: bigint })[] = [];
      for (const key of due) {
        const entry = stored.get(key);
        const to = entry && upTo(entry.tp, entry.offset);
        if (entry && to !== undefined && to > (committed.get(key) ?? -1n)) offsets.push({ ...entry.tp, offset: to });
      }
      due.clear();
      if (offsets.length === 0) continue;
      const of = generation;
      try {
        await commit(
          offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset + 1n) })),
        );
        if (of !== generation) continue;
        for (const { offset, ...tp } of offsets)
          if (offset > (committed.get(keyOf(tp)) ?? -1n)) committed.set(keyOf(tp), offset);
      } catch (error) {
        failed(error);
        // A partition that gets no further record would otherwise stay behind until the next one.
        if (of === generation && !closed) retryLater(offsets.map(keyOf));
      }
    }
  };
  const kick = () => {
    if (closed) return;
    running ??= run().finally(() => {
      running = undefined;
      // Stored after the loop's last look.
      if (due.size > 0) kick();
    });
  };
  const retryLater = (keys: string[]) => {
    for (const key of keys) retrying.add(key);
    retry ??= setTimeout(() => {
      retry = undefined;
      for (const key of retrying) due.add(key);
      retrying.clear();
      kick();
    }, retryMs);
    retry.unref();
  };

  return {
    /** The store committed the partition up to `offset`. */
    stored(tp: TopicPartition, offset: bigint) {
      stored.set(keyOf(tp), { tp, offset });
      due.add(keyOf(tp));
      kick();
    },
    /** A trailing sink wrote further on the partition. */
    advanced(tp: TopicPartition) {
      due.add(keyOf(tp));
      kick();
    },
    /** Resolves once nothing is due or in flight. */
    async settled() {
      while (running) await running;
    },
    /** The consumer left the group: nothing more is committed (trailing sinks still write while they drain). */
    close() {
      closed = true;
      clearTimeout(retry);
      retry = undefined;
    },
    forget() {
      generation++;
      clearTimeout(retry);
      retry = undefined;
      retrying.clear();
      stored.clear();
      committed.clear();
      due.clear();
    },
  };
}
