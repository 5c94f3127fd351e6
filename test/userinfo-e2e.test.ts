import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { partitionOf } from "../infra/platform/kafka/partitioner.ts";
import { createProducer, type OutRecord } from "../infra/platform/kafka/producer.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { socialGenerator } from "../infra/tools/datagen/social.ts";
import { rebuildView } from "../workers/rebuild.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { socialEdgesWorker, userInfoWorker } from "../workers/userinfo/worker.ts";
import { expectedDocuments } from "./fixtures/social-expected.ts";
import { eventually, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * The social simulator's records through both stages; every user's document
 * must equal what this test computes from the same records with plain sets.
 */

const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
const run = unique("soc");
const users = 300;
let key = "";
const workers: RunningWorker[] = [];

const records: OutRecord[] = (() => {
  const generator = socialGenerator({ users, seed: 11, runId: run });
  return Array.from({ length: 6000 }, () => generator.next());
})();

const get = (path: string) => app.request(path, { headers: { authorization: `Bearer ${key}` } });

async function documents(ids: string[]) {
  return Promise.all(
    ids.map(async (id) => {
      const response = await get(`/v1/users/${id}`);
      return response.status === 200
        ? ((await response.json()) as Record<string, unknown>)
        : response.status === 404
          ? null
          : `HTTP ${response.status}`;
    }),
  );
}

beforeAll(async () => {
  key = (await createApiKey(drizzle(deps.sql), `${run}-p`, ["users:read"])).key;
  await skipToEnd(config, "social-edges", [TOPIC.tweets, TOPIC.follows, TOPIC.likes]);
  await skipToEnd(config, "userinfo", [TOPIC.usersChangelog, TOPIC.userinfoDeltas]);
  workers.push(await runWorker(socialEdgesWorker(config), config), await runWorker(userInfoWorker(config), config));
  const producer = await createProducer(config);
  for (let i = 0; i < records.length; i += 1000) await producer.send(records.slice(i, i + 1000));
  await producer.disconnect();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await closeApiDependencies(deps);
});

describe("user information service, end to end", () => {
  const expected = expectedDocuments(records, run, users);
  const ids = [...expected.keys()];

  test("every user's document equals the counts computed from what was produced", async () => {
    const want = ids.map((id) => expected.get(id) ?? null);
    await eventually(
      "the documents to converge",
      async () => JSON.stringify(await documents(ids)) === JSON.stringify(want),
      90_000,
    );
    expect(await documents(ids)).toEqual(want);
    expect(want.filter((d) => d === null).length).toBeGreaterThan(0);
    expect(
      want.some(
        (d) => d !== null && (d.followers as number) > 0 && (d.tweets as number) > 0 && (d.likes as number) > 0,
      ),
    ).toBe(true);
  }, 120_000);

  test("unknown and deleted users answer 404; bad ids 400", async () => {
    expect((await get(`/v1/users/${run}-nobody`)).status).toBe(404);
    const deleted = ids.find((id) => expected.get(id) === null)!;
    expect((await get(`/v1/users/${deleted}`)).status).toBe(404);
    expect((await get(`/v1/users/${"x".repeat(129)}`)).status).toBe(400);
  });

  test("a lookup sends the stored answer with its ETag; a deleted user has none stored", async () => {
    const living = ids.find((id) => expected.get(id) !== null) as string;
    const deleted = ids.find((id) => expected.get(id) === null) as string;
    const responseKey = (id: string) =>
      `response:userinfo:{p${partitionOf(id, config.TOPIC_PARTITIONS)}}:${encodeURIComponent(id)}`;
    const stored = (await deps.redis.getBuffer(responseKey(living))) as Buffer;
    const newline = stored.indexOf(10);
    const response = await get(`/v1/users/${living}`);
    expect(response.headers.get("etag")).toBe(stored.toString("utf8", 0, newline));
    expect(Buffer.from(await response.arrayBuffer()).equals(stored.subarray(newline + 1))).toBe(true);
    expect(await deps.redis.exists(responseKey(deleted))).toBe(0);
  });

  test("search finds users by the words of their name, bio and location, with paging", async () => {
    const someone = [...expected.values()].find((d) => d !== null)!;
    const response = await eventually("search to index the users", async () => {
      const body = (await (await get(`/v1/search/users?q=${encodeURIComponent(String(someone.username))}`)).json()) as {
        total: number;
        results: { user_id: string }[];
      };
      return body.results.some((u) => u.user_id === someone.user_id) ? body : undefined;
    });
    expect(response.results[0]?.user_id).toBe(someone.user_id as string);
    const where = encodeURIComponent(String(someone.location));
    const all = (await (await get(`/v1/search/users?q=${where}&size=100`)).json()) as {
      results: { user_id: string }[];
    };
    expect(all.results.length).toBeGreaterThan(5);
    const page = (await (await get(`/v1/search/users?q=${where}&size=5&page=2`)).json()) as {
      page: number;
      size: number;
      results: { user_id: string }[];
    };
    expect(page.results.map((u) => u.user_id)).toEqual(all.results.slice(5, 10).map((u) => u.user_id));
    expect((await get(`/v1/search/users`)).status).toBe(400);
    expect((await get(`/v1/search/users?q=x&sort=evil`)).status).toBe(400);
  });

  test("a deleted user leaves search", async () => {
    const id = `${run}-leaver`;
    const username = `leaver${run.replace(/[^a-z0-9]/g, "")}`;
    const producer = await createProducer(config);
    const search = async () =>
      ((await (await get(`/v1/search/users?q=${username}`)).json()) as { results: { user_id: string }[] }).results.map(
        (u) => u.user_id,
      );
    try {
      await producer.send([
        {
          topic: TOPIC.usersChangelog,
          key: id,
          value: { user_id: id, username, name: "Leaving Soon", joined_at: "2026-01-01T00:00:00.000Z" },
        },
      ]);
      expect(
        await eventually(
          "the user to be searchable",
          async () => ((await search()).includes(id) ? true : undefined),
          30_000,
        ),
      ).toBe(true);
      await producer.send([{ topic: TOPIC.usersChangelog, key: id, value: null }]);
      await eventually("the deleted user to leave search", async () => !(await search()).includes(id), 30_000);
      expect(await search()).toEqual([]);
      expect((await get(`/v1/users/${id}`)).status).toBe(404);
    } finally {
      await producer.disconnect();
    }
  });

  test("a user renamed after count changes is found by the new name (versions stay monotonic across the two inputs)", async () => {
    const id = `${run}-renamed`;
    const tag = run.replace(/[^a-z0-9]/g, "");
    const user = (name: string) => ({
      topic: TOPIC.usersChangelog,
      key: id,
      value: { user_id: id, username: `${name}${tag}`, name, joined_at: "2026-01-01T00:00:00.000Z" },
    });
    const found = async (name: string) =>
      (
        (await (await get(`/v1/search/users?q=${name}${tag}`)).json()) as { results: { user_id: string }[] }
      ).results.some((u) => u.user_id === id);
    const producer = await createProducer(config);
    try {
      await producer.send([user("before")]);
      await eventually("the user to be searchable", async () => found("before"), 30_000);
      // Count changes arrive on userinfo.deltas, whose offsets here are far past users.changelog's.
      const follows = Array.from({ length: 20 }, (_, i) => ({
        topic: TOPIC.follows,
        key: `${run}-fan${i}`,
        value: {
          type: "follow",
          follower_id: `${run}-fan${i}`,
          followee_id: id,
          occurred_at: new Date().toISOString(),
        },
      }));
      await producer.send(follows);
      await eventually(
        "the followers to be counted",
        async () => ((await (await get(`/v1/users/${id}`)).json()) as { followers?: number }).followers === 20,
        30_000,
      );
      await producer.send([user("after")]);
      await eventually("the new name to be searchable", async () => found("after"), 30_000);
      expect(await found("before")).toBe(false);
    } finally {
      await producer.disconnect();
    }
  }, 120_000);

  test("a rebuild from the topics gives the same documents", async () => {
    const before = await documents(ids);
    const etags = async () => Promise.all(ids.map(async (id) => (await get(`/v1/users/${id}`)).headers.get("etag")));
    const etagsBefore = await etags();
    expect(etagsBefore.filter(Boolean).length).toBeGreaterThan(0);
    const userinfo = workers.pop()!;
    await userinfo.stop();
    const rebuilt = await rebuildView(config, "userinfo", () => {});
    expect(rebuilt.records).toBeGreaterThan(0);
    expect(await documents(ids)).toEqual(before);
    // The same bytes again, so the same ETags: a cache in front keeps what it holds.
    expect(await etags()).toEqual(etagsBefore);
    workers.push(await runWorker(userInfoWorker(config), config));
  }, 120_000);
});
