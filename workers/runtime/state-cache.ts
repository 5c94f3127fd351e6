import type { Loaded, TopicPartition } from "./worker.ts";

/** What a lane's inputs' applied offsets were when this process last committed it (null: none stored). */
type Mark = Map<string, bigint | null>;

/**
 * The states this process last committed, per partition number (a lane:
 * co-partitioned inputs share their keys there), so the next chunk of the
 * lane need not read them back from the store and parse them again.
 *
 * They are trusted only while the store still holds, for every input of the
 * lane, the applied offset this process committed last: another writer (a
 * member that had the partition meanwhile, a restore, a rebuild) moves one
 * of them, and the lane's states are then forgotten and read from the store.
 * The runner forgets everything when the group is joined again or the view is
 * reset, and a lane when one of its chunks fails. Past `maxKeys` states, the
 * least recently used go first; 0 keeps none.
 */
export function stateCache<S>(inputs: readonly string[], maxKeys: number) {
  /** Per lane, the offsets its states are good at; a lane without one has no states kept. */
  const marks = new Map<number, Mark>();
  /** `<lane>\n<key>` -> state, or null for a key the store has no state for; in use order (oldest first). */
  const states = new Map<string, S | null>();
  const entry = (lane: number, key: string) => `${lane}\n${key}`;
  /** Set, and moved to the end of the use order. */
  const keep = (lane: number, key: string, state: S | null) => {
    const name = entry(lane, key);
    states.delete(name);
    states.set(name, state);
  };

  const markOf = (tp: TopicPartition, loaded: Pick<Loaded<S>, "appliedOffset" | "laneOffsets">): Mark =>
    new Map(
      inputs.map((topic) => [
        topic,
        topic === tp.topic ? loaded.appliedOffset : (loaded.laneOffsets.get(topic) ?? null),
      ]),
    );

  const forgetLane = (lane: number) => {
    if (!marks.delete(lane)) return;
    const prefix = `${lane}\n`;
    for (const name of states.keys()) if (name.startsWith(prefix)) states.delete(name);
  };

  return {
    /** The keys whose states are kept for this lane: the store need not be asked for them (if `trusted` agrees). */
    held(tp: TopicPartition, keys: readonly string[]): Set<string> {
      const held = new Set<string>();
      if (!marks.has(tp.partition)) return held;
      for (const key of keys) if (states.has(entry(tp.partition, key))) held.add(key);
      return held;
    },

    /**
     * True when the store is where this process left the lane: the kept
     * states of `held` are then put in `loaded.states`. False: the lane's
     * states are forgotten, and the caller reads `held` from the store.
     */
    trusted(tp: TopicPartition, loaded: Loaded<S>, held: ReadonlySet<string>): boolean {
      if (held.size === 0) return true;
      const mark = marks.get(tp.partition);
      const now = markOf(tp, loaded);
      if (!mark || [...now].some(([topic, offset]) => mark.get(topic) !== offset)) {
        forgetLane(tp.partition);
        return false;
      }
      for (const key of held) {
        const state = states.get(entry(tp.partition, key))!;
        keep(tp.partition, key, state);
        if (state !== null) loaded.states.set(key, state);
      }
      return true;
    },

    /** After the store committed the chunk: its keys' states as they now are, good at the lane's new offsets. */
    committed(
      tp: TopicPartition,
      loaded: Loaded<S>,
      keys: Iterable<string>,
      changes: readonly { key: string; state: S | null }[],
      lastOffset: string,
    ) {
      if (maxKeys === 0) return;
      const mark = markOf(tp, loaded);
      mark.set(tp.topic, BigInt(lastOffset));
      marks.set(tp.partition, mark);
      for (const key of keys) keep(tp.partition, key, loaded.states.get(key) ?? null);
      for (const { key, state } of changes) keep(tp.partition, key, state);
      for (const name of states.keys()) {
        if (states.size <= maxKeys) break;
        states.delete(name);
      }
    },

    forgetLane,

    forget() {
      marks.clear();
      states.clear();
    },

    get size() {
      return states.size;
    },
  };
}

export type StateCache<S> = ReturnType<typeof stateCache<S>>;
