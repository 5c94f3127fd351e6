import { describe, expect, test } from "bun:test";
import type {
  CapturedUser,
  ContentOpened,
  EnrichedBeacon,
  EnrichedInteraction,
  Interaction,
  OpensWatermark,
  PopularInPartition,
  UserActivity,
} from "../infra/platform/contracts/content.ts";
import type { OutRecord } from "../infra/platform/kafka/producer.ts";
import {
  MAX_CONTENT_IDS,
  type UserWindow,
  userActivityFold,
  userActivityIdle,
} from "../workers/personalization/activity.ts";
import { contentViewFold } from "../workers/personalization/content-views.ts";
import { type EnrichEvent, enrichFold } from "../workers/personalization/enrich.ts";
import { type OpensRecord, popularContentFold } from "../workers/personalization/popular.ts";
import { type ContentView, mergeTop, type PopularView, VIEW_WINDOWS } from "../workers/personalization/view.ts";
import { type WindowState, windowStart } from "../workers/personalization/windows.ts";

/**
 * The personalization folds with fixed times, no server: the stream-table
 * join, tumbling windows (boundaries, closing, grace, replays), the top N and
 * the views.
 */

const MIN = 60_000;
const T0 = Date.parse("2026-11-25T12:00:00.000Z"); // a window boundary for 5-minute windows
const iso = (ms: number) => new Date(ms).toISOString();
const spec = { sizeMs: 5 * MIN, graceMs: MIN };
const topics = {
  users: "users",
  beacons: "beacons",
  interactions: "interactions",
  activeUsers: "active",
  interactionsEnriched: "enriched",
  impressions: "impressions",
};
const activityTopics = { userActivity: "activity", opens: "opens", opensPartitions: 2 };

describe("enrichment: the stream-table join", () => {
  const user = (region: string): CapturedUser => ({
    user_id: "u1",
    username: "ada",
    name: "Ada",
    email: null,
    region,
    gender: "f",
    updated_at: iso(T0),
  });
  const interaction = (at: number, extra: Partial<Interaction> = {}): EnrichEvent => ({
    kind: "interaction",
    interaction: {
      user_id: "u1",
      content_id: "c1",
      action: "opened",
      occurred_at: iso(at),
      liked: false,
      shared: false,
      ...extra,
    },
  });

  /** Fold events in order for one user; the enriched records' `user` fields. */
  function enrich(events: EnrichEvent[]) {
    const fold = enrichFold(topics);
    let state: CapturedUser | undefined;
    const out: OutRecord[] = [];
    events.forEach((event, i) => {
      const folded = fold(state, event, { partition: 2, offset: String(100 + i) });
      state = folded.state ?? undefined;
      out.push(...(folded.emit ?? []));
    });
    return out;
  }

  test("an unknown user passes through with user null (a left join)", () => {
    const [beacon] = enrich([{ kind: "beacon", beacon: { user_id: "u1", occurred_at: iso(T0), device: "ios" } }]);
    expect(beacon!.topic).toBe("active");
    expect(beacon!.key).toBe("u1");
    expect(beacon!.value as EnrichedBeacon).toEqual({
      user_id: "u1",
      occurred_at: iso(T0),
      device: "ios",
      user: null,
      source_partition: 2,
      source_offset: "100",
    });
  });

  test("events after an attribute change carry the new value; earlier ones keep the old", () => {
    const out = enrich([
      { kind: "user", userId: "u1", user: user("eu") },
      interaction(T0),
      { kind: "user", userId: "u1", user: user("us") },
      interaction(T0 + 1),
    ]);
    expect(out.map((r) => (r.value as EnrichedInteraction).user?.region)).toEqual(["eu", "us"]);
    expect(out.map((r) => r.topic)).toEqual(["enriched", "enriched"]);
  });

  test("after a deletion (tombstone) the user is unknown again", () => {
    const out = enrich([
      { kind: "user", userId: "u1", user: user("eu") },
      interaction(T0),
      { kind: "user", userId: "u1", user: null },
      interaction(T0 + 1),
    ]);
    expect(out.map((r) => (r.value as EnrichedInteraction).user?.region ?? null)).toEqual(["eu", null]);
  });

  test("liked or shared interactions also go to impressions; others do not", () => {
    const out = enrich([interaction(T0, { liked: true }), interaction(T0, { shared: true }), interaction(T0)]);
    expect(out.map((r) => r.topic)).toEqual(["enriched", "impressions", "enriched", "impressions", "enriched"]);
  });
});

describe("tumbling windows with grace", () => {
  let offset = 0;
  const opened = (
    at: number,
    user = "u1",
    content = "c1",
    action: Interaction["action"] = "opened",
  ): EnrichedInteraction => ({
    user_id: user,
    content_id: content,
    action,
    occurred_at: iso(at),
    liked: false,
    shared: false,
    user: null,
    source_partition: 0,
    source_offset: String(offset++),
  });

  /** Fold events into one partition's windows; the state and every record emitted. */
  function run(events: EnrichedInteraction[], fold = userActivityFold(spec, activityTopics)) {
    let state: WindowState<UserWindow> | undefined;
    const emitted: OutRecord[] = [];
    for (const event of events) {
      const folded = fold(state, event, 0);
      state = folded.state ?? undefined;
      emitted.push(...(folded.emit ?? []));
    }
    const results = emitted.filter((r) => r.topic === "activity").map((r) => r.value as UserActivity);
    const toOpens = emitted.filter((r) => r.topic === "opens").map((r) => r.value as ContentOpened | OpensWatermark);
    return {
      state: state!,
      results,
      opens: toOpens.filter((v): v is ContentOpened => "content_id" in v),
      marks: toOpens.filter((v) => !("content_id" in v)),
    };
  }

  test("an event stamped ahead of when it was written counts in its window, but moves the stream time only to that write time", () => {
    const fold = userActivityFold(spec, activityTopics);
    const written = T0 + 2 * MIN;
    // Four minutes ahead of its write time (within the allowed clock skew): its window opens, nothing closes.
    const ahead = fold(undefined, opened(written + 4 * MIN, "u-ahead"), 0, written);
    expect(ahead.state!.streamTime).toBe(written);
    // A genuine open a minute before the write time is on time, not late.
    const genuine = fold(ahead.state!, opened(written - MIN, "u1"), 0, written + 10);
    expect(genuine.state!.late).toBe(0);
    expect(genuine.state!.windows[T0]!.groups.u1!.opens).toBe(1);
    expect(genuine.state!.windows[T0 + 5 * MIN]!.groups["u-ahead"]!.opens).toBe(1);
  });

  test("an event exactly at a boundary belongs to the later window", () => {
    expect(windowStart(T0 - 1, spec.sizeMs)).toBe(T0 - 5 * MIN);
    expect(windowStart(T0, spec.sizeMs)).toBe(T0);
    const { state } = run([opened(T0 - 1), opened(T0)]);
    expect(Object.keys(state.windows).map(Number).sort()).toEqual([T0 - 5 * MIN, T0]);
    expect(state.windows[T0]!.groups.u1!.opens).toBe(1);
  });

  test("a window's results are sent when the stream time reaches its end, not before", () => {
    const before = run([opened(T0), opened(T0 + MIN, "u2"), opened(T0 + 5 * MIN - 1)]);
    expect(before.results).toEqual([]);
    const after = run([
      opened(T0),
      opened(T0 + MIN, "u2", "c2"),
      opened(T0 + 2 * MIN, "u1", "c3"),
      opened(T0 + 5 * MIN, "u3"),
    ]);
    expect(after.results.sort((a, b) => a.user_id.localeCompare(b.user_id))).toEqual([
      { user_id: "u1", window_start: iso(T0), window_end: iso(T0 + 5 * MIN), opens: 2, content_ids: ["c1", "c3"] },
      { user_id: "u2", window_start: iso(T0), window_end: iso(T0 + 5 * MIN), opens: 1, content_ids: ["c2"] },
    ]);
  });

  test("only opens count, but every interaction moves the stream time", () => {
    const { results, opens } = run([
      opened(T0),
      opened(T0 + MIN, "u1", "c1", "watched"),
      opened(T0 + 5 * MIN, "u2", "c9", "scrolled"),
    ]);
    expect(results).toEqual([
      { user_id: "u1", window_start: iso(T0), window_end: iso(T0 + 5 * MIN), opens: 1, content_ids: ["c1"] },
    ]);
    expect(opens.map((o) => o.content_id)).toEqual(["c1"]);
  });

  test("a late event within the grace updates the closed window and sends its user's result again", () => {
    const { results, state } = run([opened(T0), opened(T0 + 6 * MIN - 1, "u2"), opened(T0 + 1, "u1", "c2")]);
    expect(results.map((r) => [r.window_start, r.opens, r.content_ids])).toEqual([
      [iso(T0), 1, ["c1"]],
      [iso(T0), 2, ["c1", "c2"]],
    ]);
    expect(state.late).toBe(0);
  });

  test("an event later than the grace is dropped and counted as late; the window is forgotten", () => {
    const { results, state } = run([opened(T0), opened(T0 + 6 * MIN), opened(T0 + 1, "u1", "c2")]);
    expect(results.map((r) => r.opens)).toEqual([1]);
    expect(state.late).toBe(1);
    expect(state.windows[T0]).toBeUndefined();
  });

  test("a replayed event (same source offset) changes nothing and is not repartitioned again", () => {
    const fold = userActivityFold(spec, activityTopics);
    const event = opened(T0);
    const first = fold(undefined, event, 0);
    const again = fold(first.state!, event, 0);
    expect(again.state).toBe(first.state);
    expect(again.emit ?? []).toEqual([]);
    const later = fold(first.state!, opened(T0 + 5 * MIN), 0);
    expect(
      (later.emit ?? []).filter((r) => r.topic === "activity").map((r) => (r.value as UserActivity).opens),
    ).toEqual([1]);
  });

  test("on a quiet partition the wall clock closes the latest window, tells the next stage, and a later open within the grace still counts", () => {
    const idle = userActivityIdle(spec, activityTopics);
    const { state } = run([opened(T0 + MIN, "u1"), opened(T0 + 2 * MIN, "u2")]);
    expect(state.streamTime).toBe(T0 + 2 * MIN);
    // Still inside the window: nothing to write.
    expect(idle(state, T0 + 4 * MIN, 0).state).toBe(state);
    // Past its end: the window's results, and a watermark to each opens partition.
    const closed = idle(state, T0 + 5 * MIN + 10, 0);
    expect(closed.state).not.toBe(state);
    const emitted = closed.emit ?? [];
    const results = emitted.filter((r) => r.topic === "activity").map((r) => r.value as UserActivity);
    expect(results.map((r) => [r.user_id, r.window_start, r.opens])).toEqual([
      ["u1", iso(T0), 1],
      ["u2", iso(T0), 1],
    ]);
    const marks = emitted.filter((r) => r.topic === "opens");
    expect(marks.map((r) => [r.partition, (r.value as OpensWatermark).watermark])).toEqual([
      [0, iso(T0 + 5 * MIN + 10)],
      [1, iso(T0 + 5 * MIN + 10)],
    ]);
    // The state it was given is untouched (the runner may fold it again if the write fails).
    expect(state.windows[T0]!.closed).toBe(false);
    const after = closed.state!;
    expect(after.windows[T0]!.closed).toBe(true);
    // Quiet on within the grace, in the same (empty) window: nothing more; past the grace and into the next window: the watermark alone.
    expect(idle(after, T0 + 5.5 * MIN, 0).state).toBe(after);
    const next = idle(after, T0 + 10 * MIN + 1, 0);
    expect((next.emit ?? []).every((r) => r.topic === "opens")).toBe(true);
    expect(next.state!.windows[T0]).toBeUndefined();
    // A partition that never had a record starts its stream time, and the next stage hears of it.
    const empty = idle(undefined, T0 + MIN, 1);
    expect(empty.state!.streamTime).toBe(T0 + MIN);
    expect(
      (empty.emit ?? []).map((r) => [r.topic, r.partition, (r.value as OpensWatermark).upstream_partition]),
    ).toEqual([
      ["opens", 0, 1],
      ["opens", 1, 1],
    ]);
    // An open for the closed window within its grace still counts, and its user's result goes again.
    const fold = userActivityFold(spec, activityTopics);
    const late = fold(after, opened(T0 + 3 * MIN, "u1"), 0, T0 + 5 * MIN + 20);
    expect(late.late).toBeUndefined();
    expect(late.state!.windows[T0]!.groups.u1!.opens).toBe(2);
    expect((late.emit ?? []).filter((r) => r.topic === "activity").map((r) => (r.value as UserActivity).opens)).toEqual(
      [2],
    );
  });

  test(`a user's distinct content ids stop at ${MAX_CONTENT_IDS}; opens keep counting`, () => {
    const events = Array.from({ length: MAX_CONTENT_IDS + 5 }, (_, i) => opened(T0 + i, "u1", `c${i}`));
    const window = run(events).state.windows[T0]!.groups.u1!;
    expect(window.opens).toBe(MAX_CONTENT_IDS + 5);
    expect(window.content_ids.length).toBe(MAX_CONTENT_IDS);
  });
});

describe("popular content and the views", () => {
  let offset = 0;
  const open = (content: string, at: number): OpensRecord => ({
    kind: "open",
    open: {
      content_id: content,
      user_id: "u",
      occurred_at: iso(at),
      source_partition: 1,
      source_offset: String(offset++),
      upstream_partition: 0,
      watermark: iso(at),
    },
  });

  test("each partition's top N by opens (ties by content id) is sent when the window closes", () => {
    const fold = popularContentFold(spec, {
      topic: "popular",
      topN: 2,
      watermarks: { upstreamPartitions: 1, idleMs: MIN },
    });
    let state: WindowState<number> | undefined;
    const sent: PopularInPartition[] = [];
    for (const event of [
      open("b", T0),
      open("a", T0 + 1),
      open("c", T0 + 2),
      open("c", T0 + 3),
      open("x", T0 + 5 * MIN),
    ]) {
      const folded = fold(state, event, 4);
      state = folded.state ?? undefined;
      sent.push(...(folded.emit ?? []).map((r) => r.value as PopularInPartition));
    }
    expect(sent).toEqual([
      {
        window_start: iso(T0),
        window_end: iso(T0 + 5 * MIN),
        partition: 4,
        top: [
          { content_id: "c", opens: 2 },
          { content_id: "a", opens: 1 },
        ],
      },
    ]);
  });

  test("the popular view merges partitions' lists; a result sent again replaces the one before", () => {
    const result = (
      partition: number,
      top: { content_id: string; opens: number }[],
      start = T0,
    ): PopularInPartition => ({
      window_start: iso(start),
      window_end: iso(start + 5 * MIN),
      partition,
      top,
    });
    let view: ContentView | undefined;
    for (const popular of [
      result(0, [{ content_id: "a", opens: 3 }]),
      result(1, [
        { content_id: "b", opens: 5 },
        { content_id: "c", opens: 1 },
      ]),
      result(0, [{ content_id: "a", opens: 4 }]),
    ]) {
      view = contentViewFold(view, { kind: "popular", popular }).state!;
    }
    const [window] = (view as PopularView).windows;
    expect(mergeTop(window!, 2)).toEqual([
      { content_id: "b", opens: 5 },
      { content_id: "a", opens: 4 },
    ]);
  });

  test(`a user's view keeps the newest ${VIEW_WINDOWS} windows, newest first, one entry per window`, () => {
    let view: ContentView | undefined;
    for (let i = 0; i < VIEW_WINDOWS + 3; i++) {
      const activity: UserActivity = {
        user_id: "u1",
        window_start: iso(T0 + i * 5 * MIN),
        window_end: iso(T0 + (i + 1) * 5 * MIN),
        opens: i + 1,
        content_ids: ["c"],
      };
      view = contentViewFold(view, { kind: "activity", activity }).state!;
      view = contentViewFold(view, { kind: "activity", activity }).state!;
    }
    const windows = (view as { windows: { window_start: string; opens: number }[] }).windows;
    expect(windows.length).toBe(VIEW_WINDOWS);
    expect(windows[0]!.opens).toBe(VIEW_WINDOWS + 3);
    expect(windows.at(-1)!.opens).toBe(4);
  });
});

describe("watermarks behind a repartition", () => {
  const LANES = 3;
  const downstream = { upstreamPartitions: LANES, idleMs: MIN };
  const laneTopics = { userActivity: "activity", opens: "opens", opensPartitions: 1 };

  /** An hour of interactions in each upstream partition, each partition's in time order (opens and other actions). */
  function hourOfTraffic(): EnrichedInteraction[][] {
    return Array.from({ length: LANES }, (_, lane) =>
      Array.from({ length: 400 }, (_, i) => ({
        user_id: `u${lane}-${i % 7}`,
        content_id: `c${(i * 7 + lane * 3) % 13}`,
        action: i % 4 === 3 ? "watched" : "opened",
        occurred_at: iso(T0 + Math.floor((i * 60 * MIN) / 400) + lane * 1000),
        liked: false,
        shared: false,
        user: null,
        source_partition: lane,
        source_offset: String(i),
      })),
    );
  }
  /** Past every window's end + grace, one per upstream partition. */
  const closing = (lane: number): EnrichedInteraction => ({
    user_id: `closer-${lane}`,
    content_id: "cz",
    action: "opened",
    occurred_at: iso(T0 + 70 * MIN),
    liked: false,
    shared: false,
    user: null,
    source_partition: lane,
    source_offset: "999999",
  });

  /** Interactions through the upstream folds in the given processing order, their opens and watermarks through one downstream partition: each window's last top N. */
  function pipeline(order: { lane: number; event: EnrichedInteraction }[]) {
    const lanes = Array.from({ length: LANES }, () => userActivityFold(spec, laneTopics));
    const popular = popularContentFold(spec, { topic: "popular", topN: 10, watermarks: downstream });
    const laneStates: (WindowState<UserWindow> | undefined)[] = [];
    let state: WindowState<number> | undefined;
    let written = T0 + 2 * 60 * MIN;
    const top = new Map<string, PopularInPartition["top"]>();
    let late = 0;
    for (const { lane, event } of order) {
      const folded = lanes[lane]!(laneStates[lane], event, lane, written++);
      laneStates[lane] = folded.state ?? undefined;
      for (const record of (folded.emit ?? []).filter((r) => r.topic === "opens")) {
        const value = record.value as ContentOpened | OpensWatermark;
        const input: OpensRecord =
          "content_id" in value ? { kind: "open", open: value } : { kind: "watermark", mark: value };
        const down = popular(state, input, 0, written++);
        state = down.state ?? undefined;
        if (down.late) late++;
        for (const result of down.emit ?? [])
          top.set((result.value as PopularInPartition).window_start, (result.value as PopularInPartition).top);
      }
    }
    return { top, late };
  }

  test("a backlog that brings one upstream partition's hour before the next one's gives the same windows as live traffic, and the expected ones", () => {
    const traffic = hourOfTraffic();
    const tagged = traffic.map((events, lane) => events.map((event) => ({ lane, event })));
    const closers = Array.from({ length: LANES }, (_, lane) => ({ lane, event: closing(lane) }));
    const live = pipeline([
      ...tagged.flat().sort((a, b) => a.event.occurred_at.localeCompare(b.event.occurred_at)),
      ...closers,
    ]);
    const backlog = pipeline([...tagged.flat(), ...closers]);

    // Written here, not taken from the workers: opens per content id per 5-minute window, the 10 most (ties by id).
    const counts = new Map<string, Record<string, number>>();
    for (const event of traffic.flat().filter((e) => e.action === "opened")) {
      const at = Date.parse(event.occurred_at);
      const window = iso(at - (at % spec.sizeMs));
      const byContent = counts.get(window) ?? {};
      byContent[event.content_id] = (byContent[event.content_id] ?? 0) + 1;
      counts.set(window, byContent);
    }
    const ranked = (byContent: Record<string, number>) =>
      Object.entries(byContent)
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
        .slice(0, 10)
        .map(([content_id, opens]) => ({ content_id, opens }));
    const expected = new Map([...counts].map(([window, byContent]) => [window, ranked(byContent)]));
    expect(expected.size).toBe(12);
    expect(backlog).toEqual({ top: expected, late: 0 });
    expect(live).toEqual({ top: expected, late: 0 });
  });

  test("an upstream partition never heard of holds the watermark back until it has been silent for idleMs of write time", () => {
    const fold = popularContentFold(spec, {
      topic: "popular",
      topN: 10,
      watermarks: { upstreamPartitions: 2, idleMs: MIN },
    });
    const mark = (lane: number, at: number): OpensRecord => ({
      kind: "watermark",
      mark: { upstream_partition: lane, watermark: iso(at) },
    });
    const opened: OpensRecord = {
      kind: "open",
      open: {
        content_id: "c1",
        user_id: "u",
        occurred_at: iso(T0),
        source_partition: 0,
        source_offset: "1",
        upstream_partition: 0,
        watermark: iso(T0),
      },
    };
    const written = T0 + 60 * MIN;
    let state = fold(undefined, opened, 0, written).state!;
    const held = fold(state, mark(0, T0 + 10 * MIN), 0, written + 1000);
    expect(held.emit).toEqual([]);
    state = held.state!;
    // Partition 1 has written nothing for over a minute of write time: it no longer holds the watermark back.
    const released = fold(state, mark(0, T0 + 11 * MIN), 0, written + MIN + 1);
    expect((released.emit ?? []).map((r) => (r.value as PopularInPartition).top)).toEqual([
      [{ content_id: "c1", opens: 1 }],
    ]);
  });

  test("an open later than the grace behind the watermark is counted and handed back with the reason", () => {
    const fold = popularContentFold(spec, {
      topic: "popular",
      topN: 10,
      watermarks: { upstreamPartitions: 1, idleMs: MIN },
    });
    const open = (at: number, watermark: number, offset: string): OpensRecord => ({
      kind: "open",
      open: {
        content_id: "c1",
        user_id: "u",
        occurred_at: iso(at),
        source_partition: 0,
        source_offset: offset,
        upstream_partition: 0,
        watermark: iso(watermark),
      },
    });
    const ahead = fold(undefined, open(T0 + 7 * MIN, T0 + 7 * MIN, "1"), 0).state!;
    const late = fold(ahead, open(T0, T0 + 7 * MIN, "2"), 0);
    expect(late.late).toContain(`late: the window ${iso(T0)} closed for good at ${iso(T0 + 6 * MIN)}`);
    expect(late.state!.late).toBe(1);
    expect(late.emit).toEqual([]);
  });
});
