import { describe, expect, test } from "bun:test";
import type { User } from "../infra/platform/contracts/social.ts";
import type { CountDelta } from "../infra/platform/contracts/userinfo.ts";
import type { InputRecord } from "../workers/runtime/worker.ts";
import { type Edge, type EdgeEvent, edgeFold } from "../workers/userinfo/edges.ts";
import { type UserInfoEvent, userInfoFold } from "../workers/userinfo/fold.ts";
import { type UserInfoState, userInfoDocument } from "../workers/userinfo/view.ts";

const foldEdge = edgeFold("userinfo.deltas");
const foldUserInfo = userInfoFold("userinfo.changelog");

const at = "2026-11-25T10:00:00.000Z";
let offset = 0;
const record = (topic = "social.follows"): InputRecord => ({
  topic,
  partition: 0,
  offset: String(offset++),
  key: null,
  value: null,
  timestamp: "0",
  writtenAt: 0,
  headers: {},
});

/** Fold edge events of one key in order; returns the final edge and every emitted delta. */
function edges(events: EdgeEvent[]) {
  let edge: Edge | undefined;
  const emitted: CountDelta[] = [];
  for (const e of events) {
    const folded = foldEdge(edge, e, record(`social.${e.kind}s`));
    edge = folded.state ?? undefined;
    emitted.push(...(folded.emit ?? []).map((r) => r.value as CountDelta));
  }
  return { edge, emitted };
}

const follow = (type: "follow" | "unfollow", follower = "a", followee = "b"): EdgeEvent => ({
  kind: "follow",
  event: { type, follower_id: follower, followee_id: followee, occurred_at: at },
});
const like = (type: "like" | "unlike"): EdgeEvent => ({
  kind: "like",
  event: { type, user_id: "a", tweet_id: "t1", occurred_at: at },
});
const tweet = (type: "created" | "deleted", author = "a"): EdgeEvent => ({
  kind: "tweet",
  event: { type, tweet_id: "t1", user_id: author, occurred_at: at },
});
const changes = (emitted: CountDelta[]) => emitted.map((d) => [d.user_id, d.changes]);

describe("edge fold (stage 1)", () => {
  test("a follow counts for the follower's following and the followee's followers, once", () => {
    const { emitted } = edges([follow("follow"), follow("follow")]);
    expect(changes(emitted)).toEqual([
      ["a", { following: 1 }],
      ["b", { followers: 1 }],
    ]);
  });

  test("an unfollow decrements; an unfollow of a pair never followed changes nothing", () => {
    expect(changes(edges([follow("unfollow")]).emitted)).toEqual([]);
    expect(changes(edges([follow("follow"), follow("unfollow"), follow("unfollow")]).emitted)).toEqual([
      ["a", { following: 1 }],
      ["b", { followers: 1 }],
      ["a", { following: -1 }],
      ["b", { followers: -1 }],
    ]);
  });

  test("a self-follow is one change of both counts", () => {
    expect(changes(edges([follow("follow", "a", "a")]).emitted)).toEqual([["a", { following: 1, followers: 1 }]]);
  });

  test("likes: repeated likes count once, unlike decrements, unlike without like changes nothing", () => {
    expect(changes(edges([like("like"), like("like"), like("unlike"), like("unlike")]).emitted)).toEqual([
      ["a", { likes: 1 }],
      ["a", { likes: -1 }],
    ]);
  });

  test("tweets: created once, a delete decrements its author, a second delete or a repeated create changes nothing", () => {
    expect(
      changes(edges([tweet("created"), tweet("created"), tweet("deleted", "someone-else"), tweet("deleted")]).emitted),
    ).toEqual([
      ["a", { tweets: 1 }],
      ["a", { tweets: -1 }],
    ]);
  });

  test("each delta names the source record it came from", () => {
    const folded = foldEdge(undefined, like("like"), { ...record("social.likes"), partition: 7, offset: "42" });
    expect(folded.emit?.[0]).toMatchObject({
      topic: "userinfo.deltas",
      key: "a",
      value: { source: "social.likes:7", source_offset: "42" },
    });
  });
});

const user = (id: string, name: string): User => ({
  user_id: id,
  username: id,
  name,
  joined_at: at,
  bio: `bio of ${name}`,
});
let deltaOffset = 0;
const delta = (changesOf: CountDelta["changes"], source = "social.follows:0", at?: number): UserInfoEvent => ({
  kind: "delta",
  delta: { user_id: "u1", changes: changesOf, source, source_offset: String(at ?? deltaOffset++) },
});
const upsert = (u: User | null): UserInfoEvent => ({ kind: "user", user_id: "u1", user: u });

function userInfo(events: UserInfoEvent[]) {
  let state: UserInfoState | undefined;
  const changelog: unknown[] = [];
  for (const e of events) {
    const folded = foldUserInfo(state, e);
    state = folded.state ?? undefined;
    changelog.push(...(folded.emit ?? []).map((r) => r.value));
  }
  return { state: state!, document: state ? userInfoDocument(state) : null, changelog };
}

describe("user-info fold (stage 2)", () => {
  test("the document is the user's fields plus the counts", () => {
    const { document } = userInfo([
      upsert(user("u1", "Ada")),
      delta({ tweets: 1 }),
      delta({ followers: 1 }),
      delta({ followers: 1 }),
      delta({ likes: 1 }),
    ]);
    expect(document).toEqual({ ...user("u1", "Ada"), tweets: 1, following: 0, followers: 2, likes: 1 });
  });

  test("counts that arrive before the user are kept and shown once the user exists", () => {
    const before = userInfo([delta({ following: 1 }), delta({ tweets: 1 })]);
    expect(before.document).toBeNull();
    expect(before.changelog).toEqual([]);
    const after = userInfo([delta({ following: 1 }), delta({ tweets: 1 }), upsert(user("u1", "Ada"))]);
    expect(after.document).toMatchObject({ name: "Ada", following: 1, tweets: 1 });
  });

  test("counts never go below zero", () => {
    expect(
      userInfo([upsert(user("u1", "Ada")), delta({ followers: -1 }), delta({ followers: 1 })]).document?.followers,
    ).toBe(1);
  });

  test("a replayed delta (same source offset or older) is applied once", () => {
    const { document } = userInfo([
      upsert(user("u1", "Ada")),
      delta({ likes: 1 }, "social.likes:3", 10),
      delta({ likes: 1 }, "social.likes:3", 10),
      delta({ likes: 1 }, "social.likes:3", 9),
      delta({ likes: 1 }, "social.likes:4", 9),
    ]);
    expect(document?.likes).toBe(2);
  });

  test("a deleted user has no document and a tombstone on the changelog; reappearing starts from the new fields", () => {
    const deleted = userInfo([
      upsert({ ...user("u1", "Ada"), location: "London" }),
      delta({ tweets: 1 }),
      upsert(null),
    ]);
    expect(deleted.document).toBeNull();
    expect(deleted.changelog.at(-1)).toBeNull();
    const back = userInfo([
      upsert({ ...user("u1", "Ada"), location: "London" }),
      delta({ tweets: 1 }),
      upsert(null),
      upsert(user("u1", "Ada L.")),
    ]);
    expect(back.document).toEqual({ ...user("u1", "Ada L."), tweets: 1, following: 0, followers: 0, likes: 0 });
    expect(back.document).not.toHaveProperty("location");
  });

  test("a tombstone for a user that never existed changes nothing", () => {
    const folded = foldUserInfo(undefined, upsert(null));
    expect(folded.state).toBeNull();
    expect(folded.emit ?? []).toEqual([]);
  });

  test("every document change is emitted to userinfo.changelog keyed by user", () => {
    const folded = foldUserInfo(undefined, upsert(user("u1", "Ada")));
    expect(folded.emit).toEqual([
      {
        topic: "userinfo.changelog",
        key: "u1",
        value: { ...user("u1", "Ada"), tweets: 0, following: 0, followers: 0, likes: 0 },
      },
    ]);
  });
});
