import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { deleteUsers, upsertUsers } from "../db/users.ts";
import type { CapturedUser } from "../infra/platform/contracts/content.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { startOutboxCapture } from "../workers/capture/outbox.ts";
import type { Running } from "../workers/runtime/runner.ts";
import { eventually, recordsIn, tailTopic, testConfig, unique } from "./helpers.ts";

/**
 * The personalization pipeline's edges on the real servers: its ingest
 * endpoints, users captured from Postgres to users.cdc, and the window
 * endpoints' answers to bad or unknown input.
 */

const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
let key = "";
let capture: Running | undefined;
beforeAll(async () => {
  key = (await createApiKey(drizzle(deps.sql), unique("app"), ["content:write", "content:read"])).key;
});
afterAll(async () => {
  await capture?.stop();
  await closeApiDependencies(deps);
});

const auth = () => ({ authorization: `Bearer ${key}` });
const post = (path: string, body: unknown, headers: Record<string, string> = auth()) =>
  app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
const get = (path: string) => app.request(path, { headers: auth() });

const at = new Date().toISOString();
const beacon = (o: Record<string, unknown> = {}) => ({ user_id: "u1", occurred_at: at, device: "ios", ...o });
const interaction = (o: Record<string, unknown> = {}) => ({
  user_id: "u1",
  content_id: "c1",
  action: "opened",
  occurred_at: at,
  liked: true,
  ...o,
});

describe("POST /v1/beacons and /v1/interactions", () => {
  test("valid batches are produced and answered 202 after the ack", async () => {
    const [beacons, interactions] = [
      await recordsIn(config, TOPIC.beacons),
      await recordsIn(config, TOPIC.interactions),
    ];
    expect((await post("/v1/beacons", [beacon(), beacon({ device: null })])).status).toBe(202);
    expect(
      (
        await post("/v1/interactions", [
          interaction(),
          interaction({ action: "watched", liked: undefined, shared: true }),
        ])
      ).status,
    ).toBe(202);
    expect(await recordsIn(config, TOPIC.beacons)).toBe(beacons + 2);
    expect(await recordsIn(config, TOPIC.interactions)).toBe(interactions + 2);
  });

  test("an invalid item rejects the batch with its index and field; no key is a 401; nothing is produced", async () => {
    const interactions = await recordsIn(config, TOPIC.interactions);
    const bad = await post("/v1/interactions", [
      interaction(),
      interaction({ action: "bookmarked" }),
      interaction({ liked: "yes" }),
    ]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: unknown[] }).errors).toEqual([
      { index: 1, field: "action", reason: "expected one of opened, clicked, watched, scrolled" },
      { index: 2, field: "liked", reason: "expected true or false" },
    ]);
    const noTime = await post("/v1/beacons", [beacon({ occurred_at: undefined })]);
    expect(noTime.status).toBe(400);
    expect(((await noTime.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe("occurred_at");
    expect((await post("/v1/interactions", [interaction()], {})).status).toBe(401);
    expect(await recordsIn(config, TOPIC.interactions)).toBe(interactions);
  });
});

describe("GET /v1/content/popular and /v1/users/:userId/activity", () => {
  test("bad parameters are a 400 naming them; nothing yet is a 404", async () => {
    const wrongWindow = await get("/v1/content/popular?window=1h");
    expect(wrongWindow.status).toBe(400);
    expect(((await wrongWindow.json()) as { errors: { field: string; reason: string }[] }).errors).toEqual([
      { field: "window", reason: "must be 5m, the window the pipeline counts in (CONTENT_WINDOW_MS)" },
    ]);
    const badLimit = await get(`/v1/content/popular?limit=${config.POPULAR_TOP_N + 1}`);
    expect(((await badLimit.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe("limit");
    expect((await get("/v1/content/popular?sort=asc")).status).toBe(400);
    expect((await get("/v1/content/popular?start=2001-01-01T00:00:00Z")).status).toBe(404);
    expect((await get(`/v1/users/${unique("nobody")}/activity`)).status).toBe(404);
  });
});

describe("users captured to users.cdc", () => {
  test("an insert, an update and a delete in Postgres reach the compacted topic in order, the delete as a tombstone", async () => {
    const tail = await tailTopic(config, TOPIC.usersCdc);
    capture = await startOutboxCapture(config, { name: "test-users-capture" });
    const userId = unique("cdc-user");
    const ofUser = () => tail.records.filter((r) => r.key === userId);
    const committed = Date.now();
    await upsertUsers(deps.sql, [{ user_id: userId, username: "ada", name: "Ada", region: "eu-west", gender: "f" }]);
    await eventually("the insert on users.cdc", async () => ofUser().length === 1, 30_000);
    const insertDelay = Date.now() - committed;
    await deps.sql`update users set region = 'us-east' where user_id = ${userId}`;
    await eventually("the update on users.cdc", async () => ofUser().length === 2, 30_000);
    await deleteUsers(deps.sql, [userId]);
    await eventually("the tombstone on users.cdc", async () => ofUser().length === 3, 30_000);
    await tail.stop();
    const [inserted, updated, deleted] = ofUser();
    expect(JSON.parse(inserted!.value) as CapturedUser).toMatchObject({
      user_id: userId,
      username: "ada",
      name: "Ada",
      region: "eu-west",
      gender: "f",
      email: null,
    });
    expect((JSON.parse(updated!.value) as CapturedUser).region).toBe("us-east");
    expect(deleted!.value).toBe("");
    console.log(`users.cdc: insert seen ${insertDelay} ms after its commit (polled every 200 ms)`);
  }, 60_000);
});
