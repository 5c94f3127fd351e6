import {
  deleteKeys,
  documentKey,
  keysMatching,
  offsetsKey,
  type RedisClient,
  responseKey,
  storeIdKey,
} from "../../../infra/platform/redis-keys.ts";
import { storedResponse } from "../../../infra/platform/stored-response.ts";
import type { Change, StateStore, TopicPartition } from "../worker.ts";

/**
 * Documents and the partition's applied offset (with the topic incarnation
 * it belongs to) written by one Lua script, so Redis never holds a document
 * without the offset that produced it. A commit whose offset is not past the
 * stored one is refused: a replay, or a zombie consumer that lost its
 * partition, cannot move a view backwards. What time passing changed (an
 * idle fold) is written at the stored offset, and only while it is that one
 * (-1 for a partition that never had a record).
 */
const COMMIT = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[6] == 'same' then
  if not current then
    if ARGV[2] ~= '-1' then return 0 end
  elseif tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
elseif current and tonumber(current) >= tonumber(ARGV[2]) then return 0 end
local ttl = tonumber(ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[1] .. ':time', ARGV[4]) end
for i = 2, #KEYS do
  local value = ARGV[i + 5]
  if value == '' then redis.call('DEL', KEYS[i])
  elseif ttl > 0 then redis.call('SET', KEYS[i], value, 'EX', ttl)
  else redis.call('SET', KEYS[i], value) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[1] .. ':incarnation', ARGV[5])
return 1
`;

/** A trailing sink's offset only moves forward (two processes may write it around a rebalance). */
const COMMIT_SINK_OFFSET = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(current) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

type WithCommit = RedisClient & {
  cdpCommitSinkOffset(key: string, field: string, offset: string): Promise<number>;
};
type CommitPipeline = {
  cdpCommitState(numKeys: number, ...args: string[]): { exec(): Promise<[Error | null, unknown][] | null> };
};

export type RedisStateOptions<S> = {
  redis: RedisClient;
  /** Documents are stored under `<namespace>:<state key>` (infra/platform/redis-keys.ts), what readers GET. */
  namespace: string;
  /** The worker whose applied offsets (stream times, incarnations, store id) are kept, under `offsets:<worker>`. */
  worker: string;
  /** Let documents expire (e.g. dedupe markers kept as long as the topic keeps records); 0 keeps them. */
  ttlSeconds?: number;
  /**
   * What a lookup answers for a state (null: nothing, a 404). Given, each
   * commit also stores that answer ready to send under
   * `response:<namespace>:<key>`, in the same script as the state.
   */
  response?: (state: S) => unknown | null;
};

export function redisStateStore<S>({
  redis,
  namespace,
  worker,
  ttlSeconds = 0,
  response,
}: RedisStateOptions<S>): StateStore<S> {
  const client = redis as WithCommit;
  if (!("cdpCommitState" in client)) client.defineCommand("cdpCommitState", { lua: COMMIT });
  if (typeof client.cdpCommitSinkOffset !== "function")
    client.defineCommand("cdpCommitSinkOffset", { lua: COMMIT_SINK_OFFSET, numberOfKeys: 1 });
  // Every key a partition's commit touches carries its partition's hash tag: one Redis Cluster slot.
  const offsetsHash = (tp: TopicPartition) => offsetsKey(worker, tp.partition);
  const docKey = (tp: TopicPartition, key: string) => documentKey(namespace, key, tp.partition);
  const field = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

  /** "next": the offset must pass the stored one; "same": it must be the stored one. */
  async function commitAt(
    tp: TopicPartition,
    changes: readonly Change<S>[],
    offset: string,
    streamTime: number | undefined,
    incarnation: string,
    mode: "next" | "same",
  ) {
    const keys = [offsetsHash(tp), ...changes.map((c) => docKey(tp, c.key))];
    const values = changes.map((c) => (c.state === null ? "" : JSON.stringify(c.state)));
    if (response) {
      for (const c of changes) {
        const answer = c.state === null ? null : response(c.state);
        keys.push(responseKey(namespace, c.key, tp.partition));
        values.push(answer === null ? "" : storedResponse(answer));
      }
    }
    // A pipeline of its own: autopipelining would route a script by its first
    // argument (here the key count), which on a Cluster is not its keys' slot.
    const [[error] = [null]] =
      (await (client.pipeline() as unknown as CommitPipeline)
        .cdpCommitState(
          keys.length,
          ...keys,
          field(tp),
          offset,
          String(ttlSeconds),
          streamTime === undefined ? "" : String(streamTime),
          incarnation,
          mode,
          ...values,
        )
        .exec()) ?? [];
    if (error) throw error;
  }

  return {
    async id() {
      await redis.set(storeIdKey(worker), crypto.randomUUID(), "NX");
      return (await redis.get(storeIdKey(worker)))!;
    },

    async load(tp, keys, clocks, trailing = [], lane = []) {
      const pipeline = redis
        .pipeline()
        .hmget(
          offsetsHash(tp),
          field(tp),
          `${field(tp)}:incarnation`,
          ...clocks.map((clock) => `${field(clock)}:time`),
          ...trailing.map((sink) => `${field(tp)}:sink:${sink}`),
          ...lane.map(field),
        );
      if (keys.length > 0) pipeline.mget(keys.map((key) => docKey(tp, key)));
      const [[offsetsError, offsets] = [], [docsError, docs] = []] = (await pipeline.exec()) ?? [];
      if (offsetsError || docsError) throw offsetsError ?? docsError;
      const [offset, incarnation, ...rest] = offsets as (string | null)[];
      const times = rest.slice(0, clocks.length);
      const sinkOffsets = new Map<string, bigint>();
      trailing.forEach((sink, i) => {
        const at = rest[clocks.length + i];
        if (typeof at === "string") sinkOffsets.set(sink, BigInt(at));
      });
      const laneOffsets = new Map<string, bigint>();
      lane.forEach((other, i) => {
        const at = rest[clocks.length + trailing.length + i];
        if (typeof at === "string") laneOffsets.set(other.topic, BigInt(at));
      });
      const states = new Map<string, S>();
      (docs as (string | null)[] | undefined)?.forEach((doc, i) => {
        if (doc !== null) states.set(keys[i]!, JSON.parse(doc) as S);
      });
      const streamTimes = new Map<string, number>();
      clocks.forEach((clock, i) => {
        const time = times[i];
        if (typeof time === "string") streamTimes.set(clock.topic, Number(time));
      });
      return {
        appliedOffset: typeof offset === "string" ? BigInt(offset) : null,
        incarnation: incarnation ?? null,
        states,
        streamTimes,
        sinkOffsets,
        laneOffsets,
      };
    },

    async commitSinkOffset(tp, sink, offset) {
      await client.cdpCommitSinkOffset(offsetsHash(tp), `${field(tp)}:sink:${sink}`, String(offset));
    },

    commit: (tp, changes, offset, streamTime, incarnation) =>
      commitAt(tp, changes, offset, streamTime, incarnation, "next"),

    commitIdle: (tp, changes, offset, incarnation) => commitAt(tp, changes, offset, undefined, incarnation, "same"),

    async reset() {
      await deleteKeys(redis, [
        ...(await keysMatching(redis, documentKey(namespace, "*", "*"))),
        ...(await keysMatching(redis, responseKey(namespace, "*", "*"))),
        ...(await keysMatching(redis, offsetsKey(worker, "*"))),
        storeIdKey(worker),
      ]);
    },

    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
