import type { Admin } from "kafkajs";
import type { Config } from "../../infra/platform/config.ts";
import { topicIncarnations } from "../../infra/platform/kafka/incarnation.ts";
import type { Logger } from "../../infra/platform/log.ts";
import type { Loaded, TopicPartition, Worker } from "./worker.ts";

/** What a view's state says about its log, for the status endpoint. */
export type GuardStats = {
  state: "running" | "restoring" | "stopped";
  /** Partitions read again from where their state was lost. */
  restores: number;
  /** Records that had left a topic (retention) when its view had to be restored: the view lacks them. */
  unrestorable: number;
  /** Views dropped and folded again because their log was not the one they were folded from (ON_LOG_MISMATCH=rebuild). */
  rebuilds: number;
};

/**
 * How the guard moves the consumer: read a partition from an offset, stop the
 * worker for good, and run work in a partition number's turn (never beside
 * one of its chunks).
 */
export type GuardActions = {
  seek(tp: TopicPartition, offset: string): void;
  halt(message: string): void;
  inTurn(partition: number, work: () => Promise<void>): Promise<void>;
  /** Before the view is dropped: nothing queued for its sinks may land after. */
  beforeReset(): Promise<void>;
};

/** How often a worker compares its store with what it applied, so a store emptied under an idle worker is restored too. */
const WATCH_EVERY_MS = 5000;

/** Consumer offsets are committed with `store:<id>`: the state they were applied to. */
const metadataOf = (storeId: string) => `store:${storeId}`;
const tpKey = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

/**
 * Keeps a view in step with its log (SPEC §3.2, §3.4):
 * - the topic incarnation the state was applied from must be the one the
 *   broker serves (a reset broker, a topic made again): otherwise the
 *   worker stops with the command that heals it, or (ON_LOG_MISMATCH=
 *   rebuild) drops the view and folds it again from the beginning;
 * - on each assignment, a partition whose committed offsets were committed
 *   for state its store no longer holds (Redis restarted empty, a table
 *   truncated with its offsets) is read again from where the state ends (its
 *   applied offset, or the earliest record the topic still holds), as Kafka
 *   Streams restores a store from its changelog; and while running, a store
 *   that falls behind what this process applied is caught the same way.
 */
export function viewGuard(
  worker: Worker<unknown, unknown>,
  groupId: string,
  config: Config,
  admin: Admin,
  stats: GuardStats,
  log: Logger,
  act: GuardActions,
) {
  let storeId = "";
  let incarnations = new Map<string, string>();
  /** Per partition, the check made once per assignment (its seek or halt included). */
  let checks = new Map<string, Promise<void>>();
  /** The last offset the store held (when assigned) or this process committed to it, per partition: the state must not fall below it. */
  const applied = new Map<string, bigint>();
  /** Partitions being read again, and the offset that ends their restore. */
  const restoring = new Map<string, bigint>();
  let resetting: Promise<void> | undefined;

  const lowOf = async (tp: TopicPartition) =>
    BigInt((await admin.fetchTopicOffsets(tp.topic)).find((p) => p.partition === tp.partition)!.low);

  /** Read a partition again from `from` (the state's end; null: the earliest record kept), until it is back at `until` (null: a view folded anew). */
  async function restore(tp: TopicPartition, from: bigint | null, until: bigint | null, why: string) {
    const low = await lowOf(tp);
    const start = from === null || from < low ? low : from;
    const lost = from === null ? low : from < low ? low - from : 0n;
    stats.unrestorable += Number(lost);
    applied.delete(tpKey(tp));
    if (until !== null) {
      stats.restores++;
      restoring.set(tpKey(tp), until);
      stats.state = "restoring";
    }
    log.warn(
      `${why}: reading ${tp.topic}[${tp.partition}] ${until === null ? "" : "again "}from offset ${start}${until === null ? "" : ` up to ${until}`}` +
        (lost > 0n ? `; ${lost} records had left the topic (retention), the view lacks them` : ""),
    );
    act.seek(tp, String(start));
  }

  /**
   * The incarnation check: true when the state may be folded onto. On a
   * mismatch the worker halts, or the view is dropped (once per process)
   * and the partition read from its earliest record.
   */
  async function sameLog(tp: TopicPartition, incarnation: string | null): Promise<boolean> {
    const current = incarnations.get(tp.topic)!;
    if (incarnation === null || incarnation === current) return true;
    const message =
      `view ${worker.name}: ${tp.topic}[${tp.partition}] was folded from topic incarnation ${incarnation}, ` +
      `but the broker now serves ${current} (its data was reset, or the topic was deleted and made again)`;
    if (config.ON_LOG_MISMATCH === "stop") {
      act.halt(
        `${message}. Its applied offsets mean nothing in this log, so the worker stopped rather than skip records. ` +
          `Heal it: stop the worker, run \`bun run rebuild ${worker.name}\` (or set ON_LOG_MISMATCH=rebuild), then start it again`,
      );
      return false;
    }
    resetting ??= (async () => {
      log.error(`${message}; dropping the view and folding its topics from the beginning (ON_LOG_MISMATCH=rebuild)`);
      await act.beforeReset();
      await worker.store.reset();
      for (const sink of worker.sinks ?? []) await sink.reset?.();
      storeId = await worker.store.id();
      incarnations = await topicIncarnations(config, worker.inputs);
      applied.clear();
      stats.rebuilds++;
    })().finally(() => (resetting = undefined));
    await resetting;
    await restore(tp, null, null, `view ${worker.name}: dropped`);
    return false;
  }

  /** False (and the partition moved) when the store holds less than this process applied to it. */
  async function stillHeld(tp: TopicPartition, appliedOffset: bigint | null): Promise<boolean> {
    const mine = applied.get(tpKey(tp));
    if (mine === undefined || (appliedOffset !== null && appliedOffset >= mine)) return true;
    await restore(
      tp,
      appliedOffset === null ? null : appliedOffset + 1n,
      mine + 1n,
      `view ${worker.name}: its store lost what it had applied (${appliedOffset ?? "nothing"} now, ${mine} before)`,
    );
    return false;
  }

  /** Once per assignment: the incarnation, then whether the committed offsets cover state this store holds. */
  async function check(tp: TopicPartition) {
    const { appliedOffset, incarnation } = await worker.store.load(tp, [], []);
    if (!(await sameLog(tp, incarnation))) return;
    const [committed] = await admin.fetchOffsets({ groupId, topics: [tp.topic] });
    const mine = committed!.partitions.find((p) => p.partition === tp.partition);
    const at = BigInt(mine?.offset ?? "-1");
    const from = appliedOffset === null ? null : appliedOffset + 1n;
    // Offsets committed for a store (not set by hand: a rebuild, a reset to the latest) that this one does not hold up to.
    if (mine?.metadata?.startsWith("store:") && at > 0n && (from === null || from < at)) {
      const whose = mine.metadata === metadataOf(storeId) ? "this store" : `another store (${mine.metadata})`;
      await restore(
        tp,
        from,
        at,
        `view ${worker.name}: offsets up to ${at} were committed for ${whose}, which holds ${appliedOffset ?? "nothing"}`,
      );
    } else if (appliedOffset !== null) {
      // What the store holds now is what it must keep holding (the watch compares with it).
      applied.set(tpKey(tp), appliedOffset);
    }
  }

  const checked = (tp: TopicPartition) => {
    let done = checks.get(tpKey(tp));
    if (!done) {
      done = check(tp);
      checks.set(tpKey(tp), done);
    }
    return done;
  };

  return {
    async start() {
      storeId = await worker.store.id().catch((error: Error) => {
        throw new Error(`worker ${worker.name}: its state store failed at start-up (${error.message})`);
      });
      incarnations = await topicIncarnations(config, worker.inputs);
    },

    /** A new assignment: each partition is checked (and moved, if it must be) before anything of it is folded. */
    async assigned(assignment: Record<string, number[]>) {
      checks = new Map();
      incarnations = await topicIncarnations(config, worker.inputs).catch(() => incarnations);
      await Promise.all(
        Object.entries(assignment).flatMap(([topic, partitions]) =>
          partitions.map((partition) => checked({ topic, partition })),
        ),
      );
    },

    incarnation: (topic: string) => incarnations.get(topic)!,
    commitMetadata: () => metadataOf(storeId),

    /** Before a chunk of `tp` is folded: the assignment's check (and any view reset) has run. */
    async ready(tp: TopicPartition): Promise<void> {
      await checked(tp);
      await resetting;
    },

    /**
     * With the state loaded for a chunk: it is from this log, and the store
     * holds what this process applied. False: do not fold the chunk (the
     * partition was moved, or the worker halted).
     */
    admits: async (
      tp: TopicPartition,
      { appliedOffset, incarnation }: Pick<Loaded<unknown>, "appliedOffset" | "incarnation">,
    ) => (await sameLog(tp, incarnation)) && (await stillHeld(tp, appliedOffset)),

    /** Compare the store with what this process applied every few seconds, also when no records come. Returns a stop function. */
    watch(): () => void {
      const timer = setInterval(() => {
        for (const key of [...applied.keys()]) {
          const at = key.lastIndexOf(":");
          const tp = { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
          void act
            .inTurn(tp.partition, async () => {
              const { appliedOffset } = await worker.store.load(tp, [], []);
              await stillHeld(tp, appliedOffset);
            })
            .catch(() => {});
        }
      }, WATCH_EVERY_MS);
      return () => clearInterval(timer);
    },

    /** After a chunk's state is committed up to `lastOffset`. */
    applied(tp: TopicPartition, lastOffset: bigint) {
      const key = tpKey(tp);
      applied.set(key, lastOffset);
      const until = restoring.get(key);
      if (until !== undefined && lastOffset + 1n >= until) {
        restoring.delete(key);
        log.info(`${tp.topic}[${tp.partition}] restored`);
        if (restoring.size === 0 && stats.state === "restoring") stats.state = "running";
      }
    },
  };
}
