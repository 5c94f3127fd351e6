import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { type Browser, chromium, type Page } from "playwright-core";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies, type RunningApi, startApi } from "../api/server.ts";
import { createRedis } from "../infra/platform/clients.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { TOPIC, WORKERS } from "../infra/platform/topology.ts";
import { profileKey } from "../workers/profiles/view.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { eventually, skipToEnd, testConfig, unique, writeDeadLetter } from "./helpers.ts";

/**
 * The console in a real browser (Debian's Chromium, driven by
 * playwright-core) against the API served on loopback: a record posted is
 * found decoded in the message view, a group's lag falls to 0, a dead
 * letter is replayed from its page into its view, every worker is on the
 * pipelines page. Each page's screenshot goes to .runtime/test-output/console.
 */
const port = 18_500 + Math.floor(Math.random() * 400);
const config = { ...testConfig(), PORT: port };
const run = unique("console");
const shots = join(config.RUNTIME_DIR, "test-output", "console");
const redis = createRedis(config);
const deps = await connectApiDependencies(config);
let api: RunningApi;
let browser: Browser;
let page: Page;
let worker: RunningWorker | undefined;
const base = `http://127.0.0.1:${port}`;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  api = await startApi(config);
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
});
afterAll(async () => {
  await worker?.stop();
  await browser?.close();
  await api?.stop();
  await closeApiDependencies(deps);
  redis.disconnect();
});

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

describe("the console", () => {
  test("is open on loopback only: elsewhere it needs a key with the admin scope", async () => {
    const app = createApp(deps);
    expect((await app.request("/console")).status).toBe(401);
    const reader = (await createApiKey(drizzle(deps.sql), `${run}-p`, ["profiles:read"])).key;
    expect((await app.request("/console/topics", { headers: { authorization: `Bearer ${reader}` } })).status).toBe(403);
    const admin = (await createApiKey(drizzle(deps.sql), `${run}-p`, ["admin"])).key;
    expect((await app.request("/console/groups", { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
  });

  test("a record posted through the API is in the message view with its decoded fields", async () => {
    const { key } = await createApiKey(drizzle(deps.sql), `${run}-p`);
    const event = {
      event_id: `${run}-e1`,
      type: "search",
      search_query: "red shoes",
      user_id: `${run}-u1`,
      partner_id: `${run}-p`,
      occurred_at: new Date().toISOString(),
    };
    const posted = await fetch(`${base}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(event),
    });
    expect(posted.status).toBe(202);
    await page.goto(`${base}/console/topics/${TOPIC.clickstream}?from=earliest&key=${event.user_id}&limit=500`);
    const rows = page.locator("#records tr", { hasText: event.event_id });
    expect(await rows.count()).toBe(1);
    const text = await rows.first().innerText();
    expect(text).toContain('"search_query": "red shoes"');
    expect(text).toContain("valid");
    expect(await page.locator("#partitions tr").count()).toBe(config.TOPIC_PARTITIONS + 1);
    await shot("topic-messages");
    await page.goto(`${base}/console/topics`);
    expect(await page.locator("#topics a", { hasText: TOPIC.clickstream }).count()).toBeGreaterThan(0);
    await shot("topics");
  });

  test("a group's lag shown falls to 0", async () => {
    const name = `${run}-profiles`;
    await skipToEnd(config, name, [TOPIC.clickstream, TOPIC.identityChanges]);
    const producer = await createProducer(config);
    await producer.send(
      Array.from({ length: 50 }, (_, i) => ({
        topic: TOPIC.clickstream,
        key: `${run}-g${i % 5}`,
        value: {
          event_id: `${run}-g${i}`,
          type: "page_view",
          user_id: `${run}-g${i % 5}`,
          partner_id: `${run}-p`,
          occurred_at: new Date().toISOString(),
        },
      })),
    );
    await producer.disconnect();
    const groupId = `${config.CONSUMER_GROUP_PREFIX}${name}`;
    await page.goto(`${base}/console/groups/${groupId}`);
    expect(Number(await page.locator("#lag").innerText())).toBe(50);
    worker = await runWorker(profileWorker(config, { name }), config);
    await eventually("the lag on the group's page to fall to 0", async () => {
      await page.goto(`${base}/console/groups/${groupId}`);
      return (await page.locator("#lag").innerText()) === "0";
    });
    // Lag over time: the console samples every 10 s while it is open; two samples draw a line.
    await eventually(
      "the lag history on the group's page",
      async () => {
        await page.goto(`${base}/console/groups/${groupId}`);
        return (await page.locator("svg polyline").count()) === 1;
      },
      60_000,
    );
    await shot("group");
    await page.goto(`${base}/console/groups`);
    expect(await page.locator("#groups a", { hasText: groupId }).count()).toBe(1);
    await shot("groups");
  });

  test("a dead letter is on the dead-letter page with its reason, and its replay reaches its view", async () => {
    expect(worker).toBeDefined();
    const event = {
      event_id: `${run}-dead`,
      type: "page_view",
      user_id: `${run}-revived`,
      partner_id: `${run}-p`,
      occurred_at: new Date().toISOString(),
    };
    await writeDeadLetter(config, event, { reason: `${run}: refused by an older contract`, partition: 3, offset: 7 });
    await page.goto(`${base}/console/dlq`);
    const row = page.locator("#letters tr", { hasText: `${run}: refused by an older contract` });
    expect(await row.count()).toBe(1);
    expect(await row.innerText()).toContain(TOPIC.clickstream);
    await shot("dead-letters");
    await row.locator("input[type=checkbox]").check();
    await page.locator("#replay button[type=submit]").click();
    expect(await page.locator("#replayed").innerText()).toContain("1 record(s)");
    const profile = await eventually(
      "the replayed event in its profile",
      async () =>
        (await redis.get(profileKey(event.partner_id, event.user_id, { partitions: config.TOPIC_PARTITIONS }))) ??
        undefined,
    );
    expect(JSON.parse(profile).profile).toMatchObject({ user_id: event.user_id, events_total: 1 });
  });

  test("the pipelines page shows every worker; the stand-ins page their traffic", async () => {
    await page.goto(`${base}/console`);
    const shown = await page.locator("tr.worker").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-worker")));
    expect(shown.sort()).toEqual(Object.keys(WORKERS).sort());
    const drawn = await page
      .locator("svg.pipeline-graph g.node.worker")
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-node")));
    expect(drawn.sort()).toEqual(
      Object.keys(WORKERS)
        .map((w) => `worker:${w}`)
        .sort(),
    );
    const edges = new Set(
      await page
        .locator("svg.pipeline-graph path.edge")
        .evaluateAll((paths) => paths.map((p) => `${p.getAttribute("data-from")} -> ${p.getAttribute("data-to")}`)),
    );
    const declared = Object.entries(WORKERS).flatMap(([name, w]) => [
      ...w.inputs.map((id) => `topic:${id} -> worker:${name}`),
      ...w.outputs.map((id) => `worker:${name} -> topic:${id}`),
    ]);
    expect(declared.length).toBeGreaterThan(20);
    expect(declared.filter((edge) => !edges.has(edge))).toEqual([]);
    await shot("pipelines");
    await page.goto(`${base}/console/stand-ins`);
    expect(await page.locator("#mails").count()).toBe(1);
    expect(await page.locator("#pushes").count()).toBe(1);
    await shot("stand-ins");
  });
});
