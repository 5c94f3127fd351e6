import type { Consumer, EachBatchPayload, KafkaMessage } from "kafkajs";
import type { Config } from "../../infra/platform/config.ts";
import { CATCH_UP_FETCH, createKafka } from "../../infra/platform/kafka/client.ts";
import { REPLAYED_FROM } from "../../infra/platform/kafka/dead-letters.ts";
import { createProducer, type OutRecord, type Producer } from "../../infra/platform/kafka/producer.ts";
import { logger } from "../../infra/platform/log.ts";
import {
  consumerGroupLag,
  workerCommitDuration,
  workerDeadLettered,
  workerFlushDuration,
  workerFoldDuration,
  workerFreshness,
  workerRecordsIn,
  workerRecordsOut,
} from "../../infra/platform/metrics.ts";
import { deadLetterTopic } from "../../infra/platform/topology.ts";
import { decodeAdmitted, writtenAt } from "./admission.ts";
import { consumerCommits } from "./consumer-commits.ts";
import { CoPartitionedAssigner } from "./copartitioned-assignor.ts";
import { deadLetter } from "./dead-letter.ts";
import { fetchClock, noStageTimes, type StageTimes, timed, timedSync } from "./stage-times.ts";
import { type StateCache, stateCache } from "./state-cache.ts";
import { advanceStreamTime } from "./stream-time.ts";
import { type TrailingSink, trailingSink } from "./trailing-sink.ts";
import { type GuardStats, viewGuard } from "./view-guard.ts";
import {
  type Change,
  type Decoded,
  type InputRecord,
  type Loaded,
  Refused,
  type Sink,
  type StateStore,
  type TopicPartition,
  type Worker,
} from "./worker.ts";

export type RunnerHooks = {
  /** After a chunk's state is committed to the store, before the consumer offset commit. */
  afterFlush?(tp: TopicPartition, lastOffset: string): void | Promise<void>;
  /** The worker stopped itself (its log is not the one its view was folded from); the message says why and how to heal it. */
  onHalt?(message: string): void;
};

export type RunnerStats = GuardStats & {
  records: number;
  deadLettered: number;
  /** Records at or below the store's applied offset: applied by an earlier run from the same log, so not again. */
  skipped: number;
  flushes: number;
  /** Records behind the partitions' ends, as of each partition's last chunk. */
  lag: number;
  /** Records too late to count (a window closed for good), sent to the DLQ with the reason. */
  late: number;
  lastError: string | null;
  /** Times a quiet partition's state was moved on by the wall clock (the worker's `idle` fold) and written. */
  idleWrites: number;
  /** States a chunk took from the ones this process kept (state-cache.ts), and states it asked the store for: how well WORKER_STATE_CACHE_KEYS fits. */
  statesKept: number;
  statesRead: number;
  /** Milliseconds spent in each stage since start (see stage-times.ts). */
  stages: StageTimes;
};

/** Anything `bun run workers` runs: a worker under the runner, or a source such as the capture. */
export type Running<S extends object = object> = {
  name: string;
  stats: S;
  /** What the worker itself counts (e.g. retries, a circuit breaker), shown beside `stats`. */
  details?(): object;
  /** Finish the work in hand, commit, let go of every connection. */
  stop(): Promise<void>;
};

export type RunningWorker = Running<RunnerStats>;

export const groupIdOf = (config: Config, worker: string) => `${config.CONSUMER_GROUP_PREFIX}${worker}`;

function toInput(tp: TopicPartition, message: KafkaMessage): InputRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = String(Array.isArray(value) ? value[0] : value);
  }
  return {
    ...tp,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    value: message.value,
    timestamp: message.timestamp,
    writtenAt: writtenAt(message),
    headers,
  };
}

type Admitted<E> = { record: InputRecord; result: Decoded<E>; key: string };

/**
 * Where a chunk is folded: its partition, the incarnation of its topic, the
 * worker's counters, and whether the state loaded for it may be folded onto
 * (the view guard's word: from this log, and not lost under the worker).
 */
type Flush = {
  producer: Producer;
  tp: TopicPartition;
  incarnation: string;
  stats: RunnerStats;
  /** The worker's declared outputs and its inputs' dead-letter topics: all its fold may write. */
  writable: ReadonlySet<string>;
  /** The worker's trailing sinks, written after the store commit from queues of their own. */
  trailing: readonly TrailingSink<never, never>[];
  /** The states this process committed last, read instead of the store's while the store is where it left them. */
  cache: StateCache<never>;
  admits(loaded: Pick<Loaded<unknown>, "appliedOffset" | "incarnation">): Promise<boolean>;
};

/**
 * Fold one chunk of a partition: decode under the admission rule (bad
 * records to the DLQ), then fold and flush it. When a sink or the store
 * refuses something for its content, the chunk is split in halves until the
 * one record that caused it is found: it goes to the DLQ with the refusal,
 * and everything around it is applied, so no record stalls a partition.
 * False: the guard did not admit the state, and nothing was folded.
 */
async function foldChunk<E, S>(
  worker: Worker<E, S>,
  flush: Flush,
  records: InputRecord[],
  clockSkewMs: number,
): Promise<boolean> {
  const admitted = timedSync(flush.stats.stages, "decode", () =>
    records.map((record): Admitted<E> => {
      const result = decodeAdmitted(worker, record, clockSkewMs);
      return { record, result, key: result.ok ? worker.key(result.event) : "" };
    }),
  );
  return applyRange(worker, flush, admitted);
}

async function applyRange<E, S>(worker: Worker<E, S>, flush: Flush, range: Admitted<E>[]): Promise<boolean> {
  try {
    return await foldAndFlush(worker, flush, range);
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    // The attempt may have folded onto the kept states (some folds update a state in place): read the halves' from the store.
    flush.cache.forgetLane(flush.tp.partition);
    if (range.length === 1) {
      await deadLetterRefused(worker, flush, range[0]!.record, error);
      return true;
    }
    const middle = Math.ceil(range.length / 2);
    return (
      (await applyRange(worker, flush, range.slice(0, middle))) &&
      (await applyRange(worker, flush, range.slice(middle)))
    );
  }
}

/** The other inputs at this partition number: their applied offsets make the versions of a key changed by several topics monotonic. */
const laneOf = (worker: Pick<Worker<never, never>, "inputs">, tp: TopicPartition) =>
  worker.inputs.filter((topic) => topic !== tp.topic).map((topic) => ({ topic, partition: tp.partition }));

/** A change's version (Change.version): its record's offset + 1, plus each other input's applied offset + 1. */
const laneVersion = (laneOffsets: ReadonlyMap<string, bigint>) => {
  let base = 0n;
  for (const offset of laneOffsets.values()) base += offset + 1n;
  return (offset: string | bigint) => BigInt(offset) + 1n + base;
};

/** The stream times a worker with event time needs: every input's, at this partition number. */
const clocksOf = (worker: Pick<Worker<never, never>, "eventTime" | "inputs">, tp: TopicPartition) =>
  worker.eventTime ? worker.inputs.map((topic) => ({ topic, partition: tp.partition })) : [];

/**
 * Load the touched keys' state, fold in order, then flush in the order that
 * keeps effects exactly-once: sinks, emitted records, then state + applied
 * offset in one atomic store commit, then the trailing sinks' queues.
 * Records at or below the store's applied offset were applied by an earlier
 * run that died before committing its consumer offset; they are not folded
 * again, and a trailing sink that had not written them gets their keys'
 * states as the store holds them.
 */

async function foldAndFlush<E, S>(
  worker: Worker<E, S>,
  { producer, tp, incarnation, stats, writable, trailing, admits, cache: kept }: Flush,
  range: Admitted<E>[],
): Promise<boolean> {
  const { stages } = stats;
  const cache = kept as unknown as StateCache<S>;
  const keys = [
    ...new Set(range.flatMap(({ result, key }) => (result.ok ? [key, ...(worker.related?.(result.event) ?? [])] : []))),
  ];
  const load = (some: string[]) => {
    stats.statesRead += some.length;
    return worker.store.load(
      tp,
      some,
      clocksOf(worker, tp),
      trailing.map((t) => t.sink.name),
      laneOf(worker, tp),
    );
  };
  const loaded = await timed(stages, "load", async () => {
    const held = cache.held(tp, keys);
    const loaded = await load(held.size === 0 ? keys : keys.filter((key) => !held.has(key)));
    if (!cache.trusted(tp, loaded, held)) return load(keys);
    stats.statesKept += held.size;
    return loaded;
  });
  if (!(await admits(loaded))) return false;
  const { appliedOffset, states, streamTimes } = loaded;
  const versionAt = laneVersion(loaded.laneOffsets);

  const folding = workerFoldDuration.startTimer({ worker: worker.name });
  const counted = { records: 0, deadLettered: 0, late: 0, skipped: 0 };
  const changed = new Map<string, Change<S, E>>();
  const changedBy = new Map<string, InputRecord>();
  /** Keys of records replayed from a DLQ that changed nothing: a trailing sink that refused them gets them again. */
  const replayed = new Map<string, { record: InputRecord; event: E }>();
  const emit: OutRecord[] = [];
  const read = (key: string): S | undefined => {
    const pending = changed.get(key);
    return pending ? (pending.state ?? undefined) : states.get(key);
  };
  for (const { record, result, key } of range) {
    if (appliedOffset !== null && BigInt(record.offset) <= appliedOffset) {
      counted.skipped++;
      continue;
    }
    counted.records++;
    if (!result.ok) {
      counted.deadLettered++;
      emit.push(deadLetter(record, result.reason, worker.name));
      continue;
    }
    const before = read(key);
    const folded = worker.fold(before, result.event, record, streamTimes, read);
    if (worker.eventTime) {
      // The record's own stream advances after it is folded: the fold sees
      // the time before it (so it can tell a late record). Never past when
      // the record was written: an event stamped ahead (within the allowed
      // skew) does not make the genuine ones after it late.
      streamTimes.set(
        tp.topic,
        advanceStreamTime(streamTimes.get(tp.topic), worker.eventTime(result.event), record.writtenAt),
      );
    }
    // Deleting what does not exist is no change either.
    const unchanged = folded.state === before || (folded.state === null && before === undefined);
    if (!unchanged) {
      changed.set(key, { key, state: folded.state, version: versionAt(record.offset), event: result.event });
      changedBy.set(key, record);
    } else if (record.headers[REPLAYED_FROM] !== undefined) replayed.set(key, { record, event: result.event });
    for (const other of folded.others ?? []) {
      changed.set(other.key, {
        key: other.key,
        state: other.state,
        version: versionAt(record.offset),
        event: result.event,
      });
      changedBy.set(other.key, record);
    }
    if (folded.emit) emit.push(...folded.emit);
    if (folded.late) {
      counted.late++;
      emit.push(deadLetter(record, folded.late, worker.name));
    }
    if (folded.refused) {
      counted.deadLettered++;
      emit.push(deadLetter(record, folded.refused, worker.name));
    }
  }

  const undeclared = emit.find((out) => !writable.has(out.topic));
  if (undeclared)
    throw new Error(
      `${worker.name} emitted to ${undeclared.topic}, which is not among its declared outputs (${worker.outputs.join(", ") || "none"})`,
    );
  const last = range[range.length - 1]!.record;
  const lastOffset = last.offset;
  const changes = [...changed.values()];
  // The metric's stopwatch gives the fold stage its time too (seconds).
  stages.fold += folding() * 1000;
  const flushing = workerFlushDuration.startTimer({ worker: worker.name });
  // Nothing to wait for is not awaited: on a busy thread an await is a turn for every other lane, which the stage would count as its own.
  const direct = changes.length > 0 ? (worker.sinks ?? []).filter((sink) => !sink.trailing) : [];
  if (direct.length > 0)
    await timed(stages, "sinks", async () => {
      for (const sink of direct) await sink.write(changes, tp.partition);
    });
  if (emit.length > 0) await timed(stages, "emit", () => producer.send(emit));
  await timed(stages, "store", () =>
    worker.store.commit(tp, changes, lastOffset, streamTimes.get(tp.topic), incarnation),
  );
  cache.committed(tp, loaded, keys, changes, lastOffset);
  for (const sink of trailing as unknown as TrailingSink<S, E>[]) {
    const work = { tp, changes: [...changes], records: new Map(changedBy), upTo: BigInt(lastOffset) };
    for (const [key, { record, event }] of replayed) {
      if (changed.has(key)) continue;
      work.changes.push({ key, state: states.get(key) ?? null, version: versionAt(record.offset), event });
      work.records.set(key, record);
    }
    // Records applied before (a replay) that this sink may not have written: their keys as the store holds them.
    const from = [loaded.sinkOffsets.get(sink.sink.name), sink.queuedUpTo(tp)].reduce<bigint>(
      (a, b) => (b !== undefined && b > a ? b : a),
      -1n,
    );
    if (appliedOffset !== null && from < appliedOffset) {
      for (const { record, result, key } of range) {
        const offset = BigInt(record.offset);
        if (!result.ok || offset <= from || offset > appliedOffset || changed.has(key) || work.records.has(key))
          continue;
        work.changes.push({
          key,
          state: states.get(key) ?? null,
          version: versionAt(appliedOffset),
          event: result.event,
        });
        work.records.set(key, record);
      }
    }
    await timed(stages, "trailing", () => sink.enqueue(work));
  }
  flushing();
  const labels = { worker: worker.name };
  workerFreshness.observe(labels, Math.max(0, Date.now() - last.writtenAt) / 1000);
  workerRecordsIn.inc(labels, counted.records);
  workerDeadLettered.inc(labels, counted.deadLettered + counted.late);
  workerRecordsOut.inc(labels, emit.length - counted.deadLettered - counted.late);
  stats.records += counted.records;
  stats.deadLettered += counted.deadLettered;
  stats.late += counted.late;
  stats.skipped += counted.skipped;
  stats.flushes++;
  return true;
}

/**
 * A chunk's fold and flush, failed if it takes longer than `ms`: a store
 * call that never settles (a client that lost a write on a dropped
 * connection) would otherwise hold the partition's lane forever. The chunk
 * is then read again from the committed offset; if the late flush does land
 * after all, the store's applied offset refuses the second commit.
 */
function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`${what}: a chunk's flush took over ${ms} ms (WORKER_FLUSH_TIMEOUT_MS); reading it again`)),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The one record a sink or the store refused: to the DLQ with the refusal, and the partition moves past it. */
async function deadLetterRefused<E, S>(
  worker: Worker<E, S>,
  { producer, tp, incarnation, stats, trailing }: Flush,
  record: InputRecord,
  refusal: Refused,
) {
  const { appliedOffset, streamTimes } = await worker.store.load(tp, [], clocksOf(worker, tp));
  if (appliedOffset !== null && BigInt(record.offset) <= appliedOffset) {
    stats.skipped++;
    return;
  }
  await producer.send([deadLetter(record, refusal.message, worker.name)]);
  await worker.store.commit(tp, [], record.offset, streamTimes.get(tp.topic), incarnation);
  for (const sink of trailing) await sink.enqueue({ tp, changes: [], records: new Map(), upTo: BigInt(record.offset) });
  stats.records++;
  stats.deadLettered++;
  stats.flushes++;
}

/**
 * Run a worker until stopped. Offsets are committed only after the flush;
 * a crash anywhere replays from the last committed offset, and the store's
 * applied offset turns the replay into a no-op.
 */
export async function runWorker<E, S>(
  worker: Worker<E, S>,
  config: Config,
  options: { hooks?: RunnerHooks; fromBeginning?: boolean } = {},
): Promise<RunningWorker> {
  const log = logger(`worker ${worker.name}`);
  const stats: RunnerStats = {
    state: "running",
    records: 0,
    deadLettered: 0,
    late: 0,
    skipped: 0,
    flushes: 0,
    lag: 0,
    restores: 0,
    unrestorable: 0,
    rebuilds: 0,
    lastError: null,
    idleWrites: 0,
    statesKept: 0,
    statesRead: 0,
    stages: noStageTimes(),
  };
  const fetching = fetchClock(stats.stages);
  const kafka = createKafka(config);
  const producer = await createProducer(config);
  const admin = kafka.admin();
  await admin.connect();
  const groupId = groupIdOf(config, worker.name);
  const writable = new Set([...worker.outputs, ...worker.inputs.map(deadLetterTopic)]);
  const trailingSinks = (worker.sinks ?? []).filter((sink) => sink.trailing);
  if (trailingSinks.length > 0 && !worker.store.commitSinkOffset)
    throw new Error(`worker ${worker.name}: its store keeps no sink offsets, so its sinks cannot be trailing`);
  if (worker.idle && (!worker.store.commitIdle || (worker.sinks?.length ?? 0) > 0))
    throw new Error(`worker ${worker.name}: an idle fold needs a store that commits it (commitIdle) and no sinks`);
  const heartbeatMs = Math.min(3000, config.WORKER_SESSION_TIMEOUT_MS / 3);
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: config.WORKER_SESSION_TIMEOUT_MS,
    rebalanceTimeout: config.WORKER_SESSION_TIMEOUT_MS * 2,
    heartbeatInterval: heartbeatMs,
    allowAutoTopicCreation: false,
    ...CATCH_UP_FETCH,
    partitionAssigners: [CoPartitionedAssigner],
    // A failed flush (a store briefly down, say) restarts the consumer from
    // the last committed offset instead of killing the worker.
    retry: {
      retries: 5,
      restartOnFailure: async (error) => {
        stats.lastError = `${new Date().toISOString()} ${String(error)}`;
        log.error("consumer failed; restarting", { error: String(error) });
        return true;
      },
    },
  });
  const lags = new Map<string, number>();

  // Consumer offsets go no further than the store's commit and every
  // trailing sink's writes, and no chunk waits for them.
  const commits = consumerCommits({
    commit: async (offsets) => {
      const committing = workerCommitDuration.startTimer({ worker: worker.name });
      const metadata = guard.commitMetadata();
      await timed(stats.stages, "commit", () =>
        consumer.commitOffsets(offsets.map((offset) => ({ ...offset, metadata }))),
      );
      committing();
    },
    upTo: (tp, stored) => {
      let upTo = stored;
      for (const sink of trailing) {
        const written = sink.written(tp);
        if (written === undefined) return undefined;
        if (written < upTo) upTo = written;
      }
      return upTo;
    },
    failed: (error) => log.debug("committing consumer offsets failed (the partition moved?)", { error: String(error) }),
  });
  // An idle fold writes states at the stored offset, which the cache's check cannot see: such workers keep none.
  const cache = stateCache<never>(worker.inputs, worker.idle ? 0 : config.WORKER_STATE_CACHE_KEYS);
  const trailing = trailingSinks.map((sink) =>
    trailingSink(sink as Sink<never, never>, {
      store: worker.store as StateStore<never, never>,
      log,
      maxQueued: config.WORKER_MAX_BATCH * 5,
      // One bulk request a few MB at most, whatever the chunk: what a small search node takes in its stride.
      maxWrite: Math.min(config.WORKER_MAX_BATCH, 5000),
      advanced: (tp) => commits.advanced(tp),
      refused: async (record, reason) => {
        await producer.send([deadLetter(record, reason, worker.name)]);
        stats.deadLettered++;
        workerDeadLettered.inc({ worker: worker.name });
      },
      failed: (error) => {
        stats.lastError = `${new Date().toISOString()} ${sink.name}: ${String(error)}`;
      },
    }),
  );

  // Inputs share keys by partition number (co-partitioned): partition N of
  // two topics may hold the same keys, so their chunks take turns in one lane.
  const lanes = new Map<number, Promise<unknown>>();
  const inLane = <T>(partition: number, work: () => Promise<T>): Promise<T> => {
    const turn = (lanes.get(partition) ?? Promise.resolve()).then(work);
    lanes.set(
      partition,
      turn.catch(() => {}),
    );
    return turn;
  };

  // Idle streams: each assigned partition and when a record last came to it;
  // one quiet for IDLE_TIMEOUT_MS gets the worker's idle fold every second.
  const quietSince = new Map<string, TopicPartition & { since: number; ticking?: boolean }>();
  const idleTimer =
    worker.idle &&
    setInterval(
      () => {
        const now = Date.now();
        for (const quiet of quietSince.values()) {
          if (quiet.ticking || now - quiet.since < config.IDLE_TIMEOUT_MS || halted || stopRequested) continue;
          quiet.ticking = true;
          const tp = { topic: quiet.topic, partition: quiet.partition };
          inLane(tp.partition, () => foldIdle(tp, now))
            .catch((error) => {
              stats.lastError = `${new Date().toISOString()} idle fold of ${tp.topic}:${tp.partition}: ${String(error)}`;
              log.warn("an idle fold failed; it is tried again", { error: String(error) });
            })
            .finally(() => {
              quiet.ticking = false;
            });
        }
      },
      Math.min(1000, config.IDLE_TIMEOUT_MS),
    );

  /** Time passing on a quiet partition: its states folded with the wall clock, written at its applied offset. */
  async function foldIdle(tp: TopicPartition, now: number) {
    const idle = worker.idle;
    if (!idle) return;
    await guard.ready(tp);
    if (halted || stopRequested) return;
    const keys = idle.keys(tp.partition);
    const loaded = await worker.store.load(tp, keys, []);
    if (!(await guard.admits(tp, loaded))) return;
    // A partition that never had a record: -1, so its first record (offset 0) still passes.
    const offset = String(loaded.appliedOffset ?? -1n);
    const changes: Change<S, E>[] = [];
    const emit: OutRecord[] = [];
    for (const key of keys) {
      const state = loaded.states.get(key);
      const folded = idle.fold(state, now, tp.partition);
      if (folded.state === state) continue;
      // No event changed it (time did); idle workers have no sinks to read one.
      changes.push({ key, state: folded.state, version: BigInt(offset) + 1n, event: undefined as E });
      emit.push(...(folded.emit ?? []));
    }
    if (changes.length === 0) return;
    const undeclared = emit.find((out) => !writable.has(out.topic));
    if (undeclared) throw new Error(`${worker.name}'s idle fold emitted to ${undeclared.topic}, not a declared output`);
    await producer.send(emit);
    await worker.store.commitIdle!(tp, changes, offset, guard.incarnation(tp.topic));
    stats.idleWrites++;
  }

  let stopping: Promise<void> | undefined;
  let stopRequested = false;
  let unwatch = () => {};
  const stop = () => {
    unwatch();
    if (idleTimer) clearInterval(idleTimer);
    stopping ??= (async () => {
      stopRequested = true;
      // The partitions go first (after the batch in hand), so the group hands
      // them over without waiting for search; then what is queued for the
      // trailing sinks is written (for a while, if one is down). Consumer
      // offsets stay where the sinks had written, so the next owner writes
      // the rest from the stored states, as after a crash.
      await commits.settled();
      await consumer.disconnect();
      commits.close();
      await Promise.all(trailing.map((sink) => sink.close(10_000)));
      await producer.disconnect();
      await admin.disconnect();
      for (const sink of worker.sinks ?? []) await sink.close?.();
      await worker.store.close();
      const stages = Object.fromEntries(Object.entries(stats.stages).map(([stage, ms]) => [stage, Math.round(ms)]));
      log.info("stopped", { ...stats, stages });
    })();
    return stopping;
  };
  let halted = false;
  const halt = (message: string) => {
    if (halted) return;
    halted = true;
    stats.state = "stopped";
    stats.lastError = `${new Date().toISOString()} ${message}`;
    log.error(message);
    options.hooks?.onHalt?.(message);
    // Not awaited here: disconnecting waits for the batch in hand, which is this one.
    setTimeout(() => void stop(), 0);
  };
  const guard = viewGuard(worker as Worker<unknown, unknown>, groupId, config, admin, stats, log, {
    seek: (tp, offset) => consumer.seek({ ...tp, offset }),
    halt,
    inTurn: inLane,
    beforeReset: async () => {
      cache.forget();
      for (const sink of trailing) {
        sink.clear();
        await sink.drain();
      }
      commits.forget();
    },
  });
  await guard.start();

  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const sink of trailing) sink.forget();
    cache.forget();
    commits.forget();
    quietSince.clear();
    for (const [topic, partitions] of Object.entries(payload.memberAssignment))
      for (const partition of partitions)
        quietSince.set(`${topic}:${partition}`, { topic, partition, since: Date.now() });
  });
  consumer.on(
    consumer.events.GROUP_JOIN,
    ({ payload }) =>
      void guard
        .assigned(payload.memberAssignment)
        .catch((error) => log.error("checking the assignment failed", { error: String(error) })),
  );
  await consumer.subscribe({ topics: [...worker.inputs], fromBeginning: options.fromBeginning ?? true });
  const consuming = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: worker.partitionConcurrency ?? 1,
    eachBatch: async (payload: EachBatchPayload) => {
      fetching.enter();
      try {
        await foldBatch(payload);
      } finally {
        fetching.leave();
      }
    },
  };
  // kafkajs starts a crashed consumer again only after an error it deems
  // retriable; after any other (a commit refused because the group dropped
  // this member, say) the worker would run on, consuming nothing. Start it
  // again: it rejoins and reads from the committed offsets.
  const consumeAgain = async () => {
    if (stopRequested || halted) return;
    try {
      await consumer.connect();
      await consumer.run(consuming);
      log.info("consuming again", { inputs: worker.inputs });
    } catch (error) {
      log.error("starting the consumer again failed; trying again", { error: String(error) });
      setTimeout(() => void consumeAgain(), 1000);
    }
  };
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || stopRequested || halted) return;
    stats.lastError = `${new Date().toISOString()} consumer: ${String(payload.error)}`;
    log.error("the consumer stopped on an error kafkajs does not retry; starting it again", {
      error: String(payload.error),
    });
    setTimeout(() => void consumeAgain(), 1000);
  });
  await consumer.run(consuming);
  unwatch = guard.watch();
  log.info("running", { inputs: worker.inputs });
  return { name: worker.name, stats, details: worker.details, stop };

  async function foldBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const tp = { topic: batch.topic, partition: batch.partition };
    const quiet = quietSince.get(`${tp.topic}:${tp.partition}`);
    if (quiet && batch.messages.length > 0) quiet.since = Date.now();
    for (let start = 0; start < batch.messages.length; start += config.WORKER_MAX_BATCH) {
      if (!isRunning() || isStale() || halted || stopRequested) return;
      const chunk = batch.messages.slice(start, start + config.WORKER_MAX_BATCH).map((m) => toInput(tp, m));
      const lastOffset = chunk[chunk.length - 1]!.offset;
      // kafkajs heartbeats between chunks only: a chunk waiting on a slow
      // store (or on its lane) past the session timeout would cost this
      // member its partitions, and its commit would then be refused.
      const alive = setInterval(() => void heartbeat().catch(() => {}), heartbeatMs);
      const folded = await inLane(tp.partition, async () => {
        // The guard may have moved this partition (the batch in hand is then stale) or stopped the worker.
        await guard.ready(tp);
        if (isStale() || halted) return false;
        const flush = {
          producer,
          tp,
          incarnation: guard.incarnation(tp.topic),
          stats,
          writable,
          trailing,
          cache,
          admits: (loaded: Pick<Loaded<unknown>, "appliedOffset" | "incarnation">) => guard.admits(tp, loaded),
        };
        const folding = foldChunk(worker, flush, chunk, config.MAX_CLOCK_SKEW_MS);
        const done = await withDeadline(folding, config.WORKER_FLUSH_TIMEOUT_MS, `${tp.topic}[${tp.partition}]`).catch(
          (error) => {
            stats.lastError = `${new Date().toISOString()} ${String(error)}`;
            log.error("a chunk failed; it is read again from the committed offset", { error: String(error) });
            cache.forgetLane(tp.partition);
            throw error;
          },
        );
        if (!done) return false;
        await options.hooks?.afterFlush?.(tp, lastOffset);
        commits.stored(tp, BigInt(lastOffset));
        // The batch in hand when stopping: kafkajs leaves the group once it is done, so its commit goes first.
        if (stopRequested) await commits.settled();
        guard.applied(tp, BigInt(lastOffset));
        return true;
      }).finally(() => clearInterval(alive));
      if (!folded) return;
      resolveOffset(lastOffset);
      const lag = Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(lastOffset) - 1n));
      lags.set(`${tp.topic}:${tp.partition}`, lag);
      consumerGroupLag.set({ consumergroup: groupId, topic: tp.topic, partition: String(tp.partition) }, lag);
      stats.lag = [...lags.values()].reduce((a, b) => a + b, 0);
      await heartbeat();
    }
  }
}

/** Stop the given workers on SIGTERM or SIGINT, then exit; returns that shutdown (for a signal that came before). */
export function stopOnSignals(
  running: Running[],
  onStopped: () => Promise<void> = async () => {},
): (signal: string) => Promise<void> {
  let signalled = false;
  const shutdown = async (signal: string) => {
    if (signalled) return;
    signalled = true;
    process.stderr.write(`${signal}: stopping ${running.length} worker(s)...\n`);
    await Promise.all(running.map((w) => w.stop()));
    await onStopped();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  return shutdown;
}
