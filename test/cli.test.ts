import { afterAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { apiKeyResolver } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { runCommand, testConfig, unique } from "./helpers.ts";

/**
 * The commands a user runs, as a user runs them (a process each, the test
 * environment's database and topics): what they print, what they change and
 * how they refuse bad arguments.
 */
const config = testConfig();
const deps = await connectApiDependencies(config);
afterAll(() => closeApiDependencies(deps));
const bun = (...args: string[]) => runCommand([process.execPath, ...args], {}, 120_000);

describe("bun run apikey", () => {
  test("create prints a working key once; list shows its prefix, partner and scopes; revoke by that prefix stops it", async () => {
    const partner = unique("cli-partner");
    const created = await bun("api/apikey.ts", "create", "--partner", partner, "--scopes", "users:read,profiles:read");
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^\S{20,}$/);
    expect(created.stderr).toContain(`partner ${partner}`);

    const listed = await bun("api/apikey.ts", "list");
    const line = listed.stdout.split("\n").find((l) => l.includes(partner));
    expect(line).toBeDefined();
    expect(line).toContain("users:read,profiles:read");
    const prefix = line!.split("...")[0]!;
    expect(key.startsWith(prefix)).toBe(true);

    // A fresh key resolver each time: no key cache carries an answer over.
    const read = async () =>
      (
        await createApp({ ...deps, resolveApiKey: apiKeyResolver(drizzle(deps.sql)) }).request(
          `/v1/profiles/${unique("nobody")}`,
          { headers: { authorization: `Bearer ${key}` } },
        )
      ).status;
    expect(await read()).toBe(404);
    const revoked = await bun("api/apikey.ts", "revoke", prefix);
    expect(revoked.code).toBe(0);
    expect(await read()).toBe(401);
    expect((await bun("api/apikey.ts", "list")).stdout.split("\n").find((l) => l.includes(partner))).toContain(
      "revoked",
    );
  });

  test("bad arguments stop with a message saying what is wrong", async () => {
    const noPartner = await bun("api/apikey.ts", "create");
    expect(noPartner.code).not.toBe(0);
    expect(noPartner.stderr).toContain("--partner");
    const badScope = await bun("api/apikey.ts", "create", "--partner", "p", "--scopes", "root");
    expect(badScope.code).not.toBe(0);
    expect(badScope.stderr).toContain("unknown scope(s) root");
    const pattern = await bun("api/apikey.ts", "revoke", "%");
    expect(pattern.code).not.toBe(0);
  });
});

describe("bun run users", () => {
  test("set, history and delete write and show the users table", async () => {
    const id = unique("cli-user");
    const set = (region: string, at: string) =>
      bun("db/users-cli.ts", "set", id, "--username", "ada", "--region", region, "--at", at);
    expect((await set("eu-west", "2026-01-01T00:00:00Z")).code).toBe(0);
    expect((await set("us-east", "2026-02-01T00:00:00Z")).code).toBe(0);
    const history = await bun("db/users-cli.ts", "history", id);
    const versions = history.stdout.trim().split("\n");
    expect(versions.length).toBe(2);
    expect(versions[0]).toContain('"region":"eu-west"');
    expect(versions[1]).toContain('"region":"us-east"');
    const deleted = await bun("db/users-cli.ts", "delete", id);
    expect(deleted.stdout).toContain("deleted 1 user(s)");
    expect((await deps.sql`select 1 from users where user_id = ${id}`).length).toBe(0);
  });

  test("bad arguments stop with the usage", async () => {
    const none = await bun("db/users-cli.ts", "frobnicate", "x");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("usage: bun run users");
    const noName = await bun("db/users-cli.ts", "set", "x");
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain("--username");
  });
});

describe("bun run workers, rebuild, export", () => {
  test("workers --describe prints every declared worker, topic and view, and the Mermaid graph", async () => {
    const described = await bun("workers/main.ts", "--describe");
    expect(described.code).toBe(0);
    for (const name of [
      "profiles",
      "notifier",
      "social-edges",
      "userinfo",
      "attribution",
      "attributed-checkouts",
      "capture",
      "augmenter",
      "emailer",
      "enrich",
      "user-activity",
      "popular-content",
      "content-views",
      "export",
    ]) {
      expect(described.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    }
    expect(described.stdout).toContain("test.clickstream.events");
    expect(described.stdout).toContain("```mermaid\nflowchart LR");
  });

  test("an unknown worker, view or topic is refused with the known ones", async () => {
    const worker = await bun("workers/main.ts", "nosuch");
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain("unknown worker(s): nosuch; known: profiles");
    const view = await bun("workers/rebuild.ts", "nosuch");
    expect(view.code).toBe(2);
    expect(view.stderr).toContain("unknown: nosuch");
    const topic = await bun("workers/export/cli.ts", "no.such.topic");
    expect(topic.code).not.toBe(0);
    expect(topic.stderr).toContain("no.such.topic");
  });
});
