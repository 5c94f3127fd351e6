import { describe, expect, test } from "bun:test";
import { stateCache } from "../workers/runtime/state-cache.ts";
import type { Loaded } from "../workers/runtime/worker.ts";

const loadedAt = (appliedOffset: bigint | null, laneOffsets: [string, bigint][] = []): Loaded<number> => ({
  appliedOffset,
  incarnation: "c/t",
  states: new Map(),
  streamTimes: new Map(),
  sinkOffsets: new Map(),
  laneOffsets: new Map(laneOffsets),
});

const clicks = { topic: "clicks", partition: 0 };
const users = { topic: "users", partition: 0 };

describe("state cache", () => {
  test("a lane's committed states are held and put in the load while every input's offset is where this process left it", () => {
    const cache = stateCache<number>(["clicks", "users"], 100);
    const loaded = loadedAt(null);
    loaded.states.set("a", 1);
    cache.committed(clicks, loaded, ["a", "b"], [{ key: "c", state: 3 }], "9");

    // The other input of the lane reads them too, with clicks at 9 and its own offset unchanged (none).
    const held = cache.held(users, ["a", "b", "c", "d"]);
    expect([...held].sort()).toEqual(["a", "b", "c"]);
    const next = loadedAt(null, [["clicks", 9n]]);
    expect(cache.trusted(users, next, held)).toBe(true);
    // b is known to have no state: held, but nothing put in the load.
    expect([...next.states].sort()).toEqual([
      ["a", 1],
      ["c", 3],
    ]);
    // Another partition number is another lane.
    expect(cache.held({ topic: "clicks", partition: 1 }, ["a"]).size).toBe(0);
  });

  test("an offset another writer moved (on any input of the lane) forgets the lane's states", () => {
    for (const moved of [loadedAt(10n), loadedAt(9n, [["users", 4n]]), loadedAt(null)]) {
      const cache = stateCache<number>(["clicks", "users"], 100);
      cache.committed(clicks, loadedAt(null), [], [{ key: "a", state: 1 }], "9");
      const held = cache.held(clicks, ["a"]);
      expect(held.size).toBe(1);
      expect(cache.trusted(clicks, moved, held)).toBe(false);
      expect(moved.states.size).toBe(0);
      expect(cache.held(clicks, ["a"]).size).toBe(0);
      expect(cache.size).toBe(0);
    }
  });

  test("past its bound the least recently used states go first; a bound of 0 keeps none", () => {
    const cache = stateCache<number>(["clicks"], 3);
    cache.committed(
      clicks,
      loadedAt(null),
      [],
      ["a", "b", "c"].map((key, i) => ({ key, state: i })),
      "0",
    );
    // a is used, so b is the oldest when d comes.
    expect(cache.trusted(clicks, loadedAt(0n), cache.held(clicks, ["a"]))).toBe(true);
    cache.committed(clicks, loadedAt(0n), ["a"], [{ key: "d", state: 3 }], "1");
    expect(cache.size).toBe(3);
    expect([...cache.held(clicks, ["a", "b", "c", "d"])].sort()).toEqual(["a", "c", "d"]);

    const none = stateCache<number>(["clicks"], 0);
    none.committed(clicks, loadedAt(null), [], [{ key: "a", state: 1 }], "0");
    expect(none.size).toBe(0);
    expect(none.held(clicks, ["a"]).size).toBe(0);
  });

  test("forgetting one lane keeps the others'", () => {
    const cache = stateCache<number>(["clicks"], 100);
    const other = { topic: "clicks", partition: 1 };
    cache.committed(clicks, loadedAt(null), [], [{ key: "a", state: 1 }], "0");
    cache.committed(other, loadedAt(null), [], [{ key: "a", state: 2 }], "0");
    cache.forgetLane(0);
    expect(cache.held(clicks, ["a"]).size).toBe(0);
    expect(cache.held(other, ["a"]).size).toBe(1);
    cache.forget();
    expect(cache.size).toBe(0);
  });
});
