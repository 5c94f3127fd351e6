import type { OutRecord } from "../infra/kafka/producer.ts";

/**
 * A worker is a declaration plus a pure fold (SPEC §3.1): which topics it
 * reads, how a record becomes an event, which key the state is about, where
 * the state lives, and `(state, event) -> (state, effects)`. The runner owns
 * everything else: consuming, batching, flushing, committing and shutdown.
 */

export type TopicPartition = { topic: string; partition: number };

export type InputRecord = TopicPartition & {
  offset: string;
  key: string | null;
  value: Buffer | null;
  /** Broker timestamp, ms since epoch. */
  timestamp: string;
  headers: Record<string, string>;
};

/** A record either matches its topic's contract or says why not (it then goes to the DLQ). */
export type Decoded<E> = { ok: true; event: E } | { ok: false; reason: string };

export type Folded<S> = {
  /** The key's new state; null deletes it. Returning the same object means unchanged. */
  state: S | null;
  /** Records to produce (at least once; downstream dedupes by id). */
  emit?: OutRecord[];
};

/** A state change handed to sinks: the newest state of a key after a flush. */
export type Change<S, E = unknown> = {
  key: string;
  state: S | null;
  /** Offset of the last record that changed it: monotonic per key, usable as an external version. */
  offset: string;
  /** The last event that changed it. */
  event: E;
};

/**
 * Where a worker's state lives. `commit` must store the changes and the
 * partition's applied offset in one atomic step: that is what lets the runner
 * skip records a crashed run already applied (SPEC §3.2).
 */
export type StateStore<S> = {
  load(tp: TopicPartition, keys: readonly string[]): Promise<{ appliedOffset: bigint | null; states: Map<string, S> }>;
  commit(tp: TopicPartition, changes: readonly Change<S>[], offset: string): Promise<void>;
  close(): Promise<void>;
};

/** A secondary view written before the state commit; it must be idempotent (e.g. versioned by offset). */
export type Sink<S, E = unknown> = {
  name: string;
  write(changes: readonly Change<S, E>[]): Promise<void>;
  close?(): Promise<void>;
};

export type Worker<E, S> = {
  /** Also the consumer group id (after CONSUMER_GROUP_PREFIX). */
  name: string;
  inputs: readonly string[];
  decode(record: InputRecord): Decoded<E>;
  key(event: E): string;
  store: StateStore<S>;
  sinks?: readonly Sink<S, E>[];
  fold(state: S | undefined, event: E, record: InputRecord): Folded<S>;
  /**
   * Partitions folded at once (default 1). More is safe only when every
   * state key lives in one input partition, as with a single topic keyed by
   * the state's key: then no two partitions ever touch the same state.
   */
  partitionConcurrency?: number;
};
