import type { Admin } from "kafkajs";
import type { Config } from "../infra/config.ts";
import { topicIncarnations } from "../infra/kafka/incarnation.ts";
import type { Logger } from "../infra/log.ts";
import type { TopicPartition, Worker } from "./worker.ts";

/** What the runner does with the chunk in hand. */
export type Verdict = { action: "fold" } | { action: "seek"; offset: string } | { action: "halt"; message: string };

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

/** Consumer offsets are committed with `store:<id>`: the state they were applied to. */
const metadataOf = (storeId: string) => `store:${storeId}`;
const tpKey = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

/**
 * Keeps a view in step with its log (SPEC §3.2, §3.4). Before the first
 * chunk of each partition after an assignment, and on every chunk after:
 * - the topic incarnation the state was applied from must be the one the
 *   broker serves (a reset broker, a topic made again): otherwise the view
 *   stops with the command that heals it, or (ON_LOG_MISMATCH=rebuild) is
 *   dropped and folded again from the beginning;
 * - consumer offsets committed for a store that no longer holds what they
 *   cover (Redis restarted empty, a table truncated with its offsets) make
 *   the partition be read again from where the state ends (its applied
 *   offset, or the earliest record the topic still holds), as Kafka Streams
 *   restores a store from its changelog.
 */
export function viewGuard(worker: Worker<unknown, unknown>, config: Config, admin: Admin, stats: GuardStats, log: Logger) {
  let storeId = "";
  let incarnations = new Map<string, string>();
  /** Partitions checked against their committed offset since the last assignment. */
  const checked = new Set<string>();
  /** The last offset this process committed to the store, per partition: the state must not fall below it. */
  const applied = new Map<string, bigint>();
  /** Partitions being read again, and the offset that ends their restore. */
  const restoring = new Map<string, bigint>();
  let committedByTopic = new Map<string, Promise<Map<number, { offset: bigint; metadata: string | null }>>>();
  let resetting: Promise<void> | undefined;

  const committedOf = (topic: string) => {
    let pending = committedByTopic.get(topic);
    if (!pending) {
      pending = admin.fetchOffsets({ groupId: `${config.CONSUMER_GROUP_PREFIX}${worker.name}`, topics: [topic] }).then(
        ([offsets]) => new Map(offsets!.partitions.map((p) => [p.partition, { offset: BigInt(p.offset), metadata: p.metadata }])),
      );
      committedByTopic.set(topic, pending);
    }
    return pending;
  };

  const lowOf = async (tp: TopicPartition) => BigInt((await admin.fetchTopicOffsets(tp.topic)).find((p) => p.partition === tp.partition)!.low);

  /** Read a partition again from `from` (the state's end, or the earliest record kept), until it is back at `until`. */
  async function restore(tp: TopicPartition, from: bigint | null, until: bigint, why: string): Promise<Verdict> {
    const low = await lowOf(tp);
    const start = from === null || from < low ? low : from;
    const lost = from === null ? low : from < low ? low - from : 0n;
    stats.restores++;
    stats.unrestorable += Number(lost);
    restoring.set(tpKey(tp), until);
    stats.state = "restoring";
    applied.delete(tpKey(tp));
    log.warn(`${why}: reading ${tp.topic}[${tp.partition}] again from offset ${start} up to ${until}` + (lost > 0n ? `; ${lost} records had left the topic (retention), the view lacks them` : ""));
    return { action: "seek", offset: String(start) };
  }

  async function rebuild(message: string) {
    log.error(`${message}; dropping the view and folding its topics from the beginning (ON_LOG_MISMATCH=rebuild)`);
    await worker.store.reset();
    for (const sink of worker.sinks ?? []) await sink.reset?.();
    storeId = await worker.store.id();
    incarnations = await topicIncarnations(config, worker.inputs);
    checked.clear();
    applied.clear();
    committedByTopic = new Map();
    stats.rebuilds++;
  }

  return {
    async start() {
      storeId = await worker.store.id();
      incarnations = await topicIncarnations(config, worker.inputs);
    },

    /** A new assignment: every partition is checked again before it is folded. */
    assigned() {
      checked.clear();
      committedByTopic = new Map();
      void topicIncarnations(config, worker.inputs).then((fresh) => (incarnations = fresh), () => {});
    },

    incarnation: (topic: string) => incarnations.get(topic)!,
    commitMetadata: () => metadataOf(storeId),

    /** The verdict on a chunk of `tp` starting at `first`, before it is folded. */
    async verify(tp: TopicPartition, first: bigint): Promise<Verdict> {
      await resetting;
      const key = tpKey(tp);
      const { appliedOffset, incarnation } = await worker.store.load(tp, [], []);
      const current = incarnations.get(tp.topic)!;
      if (incarnation !== null && incarnation !== current) {
        const message =
          `view ${worker.name}: ${tp.topic}[${tp.partition}] was folded from topic incarnation ${incarnation}, ` +
          `but the broker now serves ${current} (its data was reset, or the topic was deleted and made again)`;
        if (config.ON_LOG_MISMATCH === "stop") {
          stats.state = "stopped";
          return { action: "halt", message: `${message}. Its applied offsets mean nothing in this log, so the worker stopped rather than skip records. Heal it: stop the worker, run \`bun run rebuild ${worker.name}\` (or set ON_LOG_MISMATCH=rebuild), then start it again` };
        }
        resetting ??= rebuild(message).finally(() => (resetting = undefined));
        await resetting;
        checked.add(key);
        return first > (await lowOf(tp)) ? restore(tp, null, first, `view ${worker.name}: rebuilt`) : { action: "fold" };
      }
      const mine = applied.get(key);
      if (mine !== undefined && (appliedOffset === null || appliedOffset < mine)) {
        return restore(tp, appliedOffset === null ? null : appliedOffset + 1n, first, `view ${worker.name}: its store lost what it had applied (${appliedOffset ?? "nothing"} now, ${mine} before)`);
      }
      if (!checked.has(key)) {
        checked.add(key);
        const committed = (await committedOf(tp.topic)).get(tp.partition);
        const from = appliedOffset === null ? null : appliedOffset + 1n;
        // Offsets committed for a store (not set by hand: a rebuild, a reset to latest) that this one does not hold up to.
        if (committed?.metadata?.startsWith("store:") && committed.offset > 0n && (from === null || from < committed.offset)) {
          const whose = committed.metadata === metadataOf(storeId) ? "this store" : `another store (${committed.metadata})`;
          return restore(tp, from, committed.offset, `view ${worker.name}: offsets up to ${committed.offset} were committed for ${whose}, which holds ${appliedOffset ?? "nothing"}`);
        }
      }
      return { action: "fold" };
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

export type ViewGuard = ReturnType<typeof viewGuard>;
