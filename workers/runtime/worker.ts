import type { OutRecord } from "../../infra/platform/kafka/producer.ts";

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
  /**
   * When the record was written to the log (its timestamp), never later than
   * when it was read: its "now" for the admission rule, and the latest time
   * its event may move a stream time to.
   */
  writtenAt: number;
  headers: Record<string, string>;
};

/** A record either matches its topic's contract or says why not (it then goes to the DLQ). */
export type Decoded<E> = { ok: true; event: E } | { ok: false; reason: string };

export type Folded<S> = {
  /** The key's new state; null deletes it. Returning the same object means unchanged. */
  state: S | null;
  /** Records to produce (at least once; downstream dedupes by id). */
  emit?: OutRecord[];
  /**
   * Why the event was dropped as too late to count (a window closed for
   * good): the runner counts it and dead-letters the record with this
   * reason, so a late record is never silent and can be replayed.
   */
  late?: string;
  /**
   * Why the event was refused for what it asks (an identity link that would
   * break a limit): nothing is applied, and the runner dead-letters the
   * record with this reason.
   */
  refused?: string;
  /** New states of the worker's `related` keys, or of keys they name (null deletes); all in the record's partition. */
  others?: ReadonlyArray<{ key: string; state: S | null }>;
};

/** What a fold of a worker with `related` keys reads them with: the state a key has so far in this chunk. */
export type ReadState<S> = (key: string) => S | undefined;

/** A state change handed to sinks: the newest state of a key after a flush. */
export type Change<S, E = unknown> = {
  key: string;
  state: S | null;
  /**
   * Monotonic per key, an external version for a sink (search): the offset
   * of the last record that changed it, plus 1, plus what the worker has
   * applied of its other inputs at this partition number (their offsets
   * + 1), so a key changed by records of two topics, whose offsets are
   * unrelated, still gets a larger version for each later change.
   */
  version: bigint;
  /** The last event that changed it. */
  event: E;
};

/**
 * Event-time progress of the inputs at the partition number being folded:
 * topic -> the newest event time (ms) among the records applied so far from
 * that topic's partition with this number. A topic with none yet is absent.
 */
export type StreamTimes = ReadonlyMap<string, number>;

/** What a store loads for a chunk of one topic-partition. */
export type Loaded<S> = {
  appliedOffset: bigint | null;
  /** The topic incarnation (`<cluster id>/<topic id>`) the applied offset belongs to; null when none is recorded. */
  incarnation: string | null;
  states: Map<string, S>;
  /** Stream times of the topic-partitions asked for (those recorded so far). */
  streamTimes: Map<string, number>;
  /** Of the trailing sinks asked for, the partition's offset each has written up to (absent: none recorded). */
  sinkOffsets: Map<string, bigint>;
  /** Of the other input partitions asked for (the worker's other inputs at this number), the applied offset of each that has one. */
  laneOffsets: Map<string, bigint>;
};

/**
 * Where a worker's state lives. `commit` must store the changes, the
 * partition's applied offset, the incarnation of the topic it came from and
 * its stream time in one atomic step: that is what lets the runner skip
 * records a crashed run already applied (SPEC §3.2), and tell a log that is
 * not the one the state was folded from.
 */
export type StateStore<S, E = unknown> = {
  /**
   * This store's identity, made when it is first used and lost with its
   * data. The runner commits consumer offsets with it, so a restart can tell
   * offsets committed for state this store no longer holds.
   */
  id(): Promise<string>;
  load(
    tp: TopicPartition,
    keys: readonly string[],
    clocks: readonly TopicPartition[],
    trailing?: readonly string[],
    lane?: readonly TopicPartition[],
  ): Promise<Loaded<S>>;
  commit(
    tp: TopicPartition,
    changes: readonly Change<S, E>[],
    offset: string,
    streamTime: number | undefined,
    incarnation: string,
  ): Promise<void>;
  /**
   * Store what time passing changed (a worker's `idle` fold) at the
   * partition's applied offset, only while it is still the stored one (a
   * member that lost the partition, or fell behind one that folded on, writes
   * nothing); stores that have none refuse idle workers.
   */
  commitIdle?(tp: TopicPartition, changes: readonly Change<S, E>[], offset: string, incarnation: string): Promise<void>;
  /** Record how far a trailing sink has written a partition (never backwards); stores that have none refuse trailing sinks. */
  commitSinkOffset?(tp: TopicPartition, sink: string, offset: bigint): Promise<void>;
  /** Drop the view: every document the worker wrote, its applied offsets and its identity (a view folded again from its log). */
  reset(): Promise<void>;
  close(): Promise<void>;
};

/**
 * Thrown by a sink or a store that refuses what it was given for its
 * content (a Postgres data error, a document the search engine will not
 * index), as opposed to one that is down. The runner then finds the record
 * that caused it, dead-letters it with this message and moves on; any other
 * error is retried.
 */
export class Refused extends Error {
  override name = "Refused";
}

/**
 * A secondary view or an effect, written before the state commit; it must
 * be idempotent (e.g. versioned by offset). A `trailing` one (a search
 * index) is written after the commit instead, from a queue of its own with
 * its own applied offset, so the store's view is readable first
 * (trailing-sink.ts); an effect the state records as done (an email sent)
 * is never trailing.
 */
export type Sink<S, E = unknown> = {
  name: string;
  trailing?: boolean;
  /** `partition`: the Kafka partition the changes come from; absent for a trailing sink, whose writes may mix partitions. */
  write(changes: readonly Change<S, E>[], partition?: number): Promise<void>;
  /** Drop what it holds, when its view is folded again from the beginning. */
  reset?(): Promise<void>;
  close?(): Promise<void>;
};

export type Worker<E, S> = {
  /** Also the consumer group id (after CONSUMER_GROUP_PREFIX). */
  name: string;
  inputs: readonly string[];
  /** The topics its fold emits to (dead-letter topics aside); the runner refuses any other. */
  outputs: readonly string[];
  decode(record: InputRecord): Decoded<E>;
  key(event: E): string;
  store: StateStore<S, E>;
  sinks?: readonly Sink<S, E>[];
  /**
   * The event's time (ms), for workers whose logic depends on event-time
   * progress; the runner then tracks each input partition's stream time and
   * hands the fold those of all inputs at the record's partition number.
   */
  eventTime?(event: E): number;
  /**
   * State keys beside `key(event)` that the fold reads (`read`) and may
   * write (`Folded.others`): a graph whose change touches several nodes.
   * Every such key must belong to the record's partition (the input keyed
   * so that they do), as the runner folds each partition on its own.
   */
  related?(event: E): readonly string[];
  fold(state: S | undefined, event: E, record: InputRecord, streamTimes: StreamTimes, read: ReadState<S>): Folded<S>;
  /**
   * Time passing on a quiet partition: once no record has come to it for
   * IDLE_TIMEOUT_MS, the runner hands `fold` the wall clock for each of the
   * partition's `keys` (and again each second while it stays quiet), and
   * writes what changed and what it emits; a partition that never had a
   * record (no state) gets it too. Windowed stages close their
   * latest window this way on a quiet stream.
   */
  idle?: { keys(partition: number): string[]; fold(state: S | undefined, now: number, partition: number): Folded<S> };
  /**
   * Partitions folded at once (default 1). More is safe when every state key
   * lives in one partition number, as with inputs keyed by the state's key:
   * the runner never folds two chunks of the same partition number at once,
   * so partition N of co-partitioned inputs still take turns.
   */
  partitionConcurrency?: number;
  /** Counters of its own (retries, a circuit breaker...) for the status endpoint. */
  details?(): object;
};
