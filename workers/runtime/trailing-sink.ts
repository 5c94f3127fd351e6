import type { Logger } from "../../infra/platform/log.ts";
import { backoffMs } from "./retry.ts";
import { type Change, type InputRecord, Refused, type Sink, type StateStore, type TopicPartition } from "./worker.ts";

/** A chunk's effects on a trailing sink: its changes (with the record behind each), up to an offset of its partition. */
export type TrailingWork<S, E> = {
  tp: TopicPartition;
  changes: Change<S, E>[];
  records: Map<string, InputRecord>;
  upTo: bigint;
};

export type TrailingOptions<S, E> = {
  store: StateStore<S, E>;
  log: Logger;
  /** Changes queued at most; a chunk waits for the sink below it (a sink down long pauses its worker there). */
  maxQueued: number;
  /** Changes per write at most (one bulk request). */
  maxWrite: number;
  /** The sink wrote (or had nothing for) `tp` up to an offset: the consumer may commit that far. */
  advanced(tp: TopicPartition): void;
  /** The sink refused a document for its content: its record goes to the DLQ. */
  refused(record: InputRecord, reason: string): Promise<void>;
  failed(error: unknown): void;
};

const tpKey = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

/**
 * A secondary view (a search index) written after the store's commit from a
 * queue of its own, so the store's view is readable without waiting for it.
 * Each write is idempotent (versioned by offset); once written, the sink's
 * applied offset per partition is kept beside the store's, and the consumer
 * offset never passes it, so a crash replays what the sink had not written
 * and the runner writes those keys again from their state.
 */
export function trailingSink<S, E>(sink: Sink<S, E>, options: TrailingOptions<S, E>) {
  const queue: TrailingWork<S, E>[] = [];
  let queued = 0;
  /** Per partition: the highest offset queued, and the highest written. */
  const queuedUpTo = new Map<string, bigint>();
  const written = new Map<string, bigint>();
  let running: Promise<void> | undefined;
  let roomFor: (() => void)[] = [];
  /** Bumped when the queue is dropped: a write in flight then leaves the (new) queue alone. */
  let generation = 0;
  let closing = false;
  const wakeAll = () => {
    const waiting = roomFor;
    roomFor = [];
    for (const wake of waiting) wake();
  };
  const recount = () => {
    queued = queue.reduce((n, w) => n + w.changes.length, 0);
  };

  /** Write, finding by halves the changes the sink refuses for their content: their records are dead-lettered. */
  async function write(changes: Change<S, E>[], records: Map<string, InputRecord>): Promise<void> {
    try {
      await sink.write(changes);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      if (changes.length === 1) {
        const record = records.get(changes[0]!.key);
        if (record) await options.refused(record, error.message);
        return;
      }
      const middle = Math.ceil(changes.length / 2);
      await write(changes.slice(0, middle), records);
      await write(changes.slice(middle), records);
    }
  }

  async function drainQueue() {
    for (let attempt = 1; queue.length > 0 && !closing; ) {
      const at = generation;
      // Whole chunks, up to maxWrite changes (at least one chunk).
      let take = 0;
      for (let changes = 0; take < queue.length; take++) {
        changes += queue[take]!.changes.length;
        if (take > 0 && changes > options.maxWrite) break;
      }
      const batch = queue.slice(0, take);
      // The newest change of each key; keys never span partitions.
      const newest = new Map<string, Change<S, E>>();
      const records = new Map<string, InputRecord>();
      const upTo = new Map<string, { tp: TopicPartition; offset: bigint }>();
      for (const work of batch) {
        for (const change of work.changes) {
          const before = newest.get(change.key);
          if (!before || before.version <= change.version) {
            newest.set(change.key, change);
            const record = work.records.get(change.key);
            if (record) records.set(change.key, record);
          }
        }
        upTo.set(tpKey(work.tp), { tp: work.tp, offset: work.upTo });
      }
      try {
        if (newest.size > 0) await write([...newest.values()], records);
        for (const { tp, offset } of upTo.values()) await options.store.commitSinkOffset?.(tp, sink.name, offset);
      } catch (error) {
        options.failed(error);
        options.log.warn(`${sink.name}: write failed; retrying`, { error: String(error) });
        await Bun.sleep(backoffMs(attempt++, 200, 10_000));
        continue;
      }
      attempt = 1;
      if (at !== generation) continue;
      queue.splice(0, batch.length);
      recount();
      for (const { tp, offset } of upTo.values()) {
        written.set(tpKey(tp), offset);
        options.advanced(tp);
      }
      wakeAll();
    }
    running = undefined;
  }

  return {
    sink,

    /** Queue a chunk's changes; waits while the queue is full. */
    async enqueue(work: TrailingWork<S, E>): Promise<void> {
      while (queued >= options.maxQueued && !closing) await new Promise<void>((wake) => roomFor.push(wake));
      // Stopping: what is not queued is not committed past either, so the next run writes it.
      if (closing) return;
      queue.push(work);
      queued += work.changes.length;
      queuedUpTo.set(tpKey(work.tp), work.upTo);
      running ??= drainQueue();
    },

    /** Where this process has queued the partition up to: what a chunk need not write again. */
    queuedUpTo: (tp: TopicPartition) => queuedUpTo.get(tpKey(tp)),

    /** The highest offset of the partition the sink holds, as far as this process knows. */
    written: (tp: TopicPartition) => written.get(tpKey(tp)),

    /** A new assignment: what another process did since is in the store, not here. */
    forget() {
      queuedUpTo.clear();
      written.clear();
    },

    /** Everything queued written. */
    async drain(): Promise<void> {
      while (running) await running;
    },

    /**
     * Stopping: write what is queued for at most `graceMs` (a sink that is
     * down does not hold the process; the consumer offsets never passed
     * what it had not written, so the next run writes it).
     */
    async close(graceMs: number): Promise<void> {
      const drained = this.drain();
      await Promise.race([drained, Bun.sleep(graceMs)]);
      closing = true;
      wakeAll();
    },

    /** Queue dropped (the view is being dropped and folded again). */
    clear() {
      generation++;
      queue.length = 0;
      recount();
      wakeAll();
      this.forget();
    },
  };
}

export type TrailingSink<S, E> = ReturnType<typeof trailingSink<S, E>>;
