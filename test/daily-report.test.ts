import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import type { DailyRow } from "../db/report.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { runExport } from "../workers/export/export.ts";
import { WAREHOUSE_TABLES } from "../workers/export/tables.ts";
import { identityTableWorker, identityWorker } from "../workers/identities/worker.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { eventually, ROOT, runCommand, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * Clickstream events with logins among them, through the API, the identity
 * workers and the export job into the warehouse: the daily report (the
 * command and GET /v1/reports/daily) equals what this test computes from
 * the warehouse's rows with plain SQL and a loop.
 */

const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
const run = unique("report");
const partners = [`${run}-pa`, `${run}-pb`];
const keys: Record<string, string> = {};
const workers: RunningWorker[] = [];

type Sent = Record<string, unknown> & { partner_id: string; event_id: string };
const DAY = 86_400_000;
/** Yesterday and today at a time already past today (the warehouse keeps 3 days). */
const at = (daysAgo: number, minute: number) =>
  new Date(
    Date.parse(new Date(Date.now() - 3_600_000).toISOString().slice(0, 10)) - daysAgo * DAY + minute * 1000,
  ).toISOString();

function traffic(): Sent[] {
  const events: Sent[] = [];
  let n = 0;
  const event = (partner: string, type: string, ids: object, when: string, extra: object = {}) =>
    events.push({ event_id: `${run}-e${++n}`, type, partner_id: partner, occurred_at: when, ...ids, ...extra });
  for (const [p, partner] of partners.entries()) {
    for (let i = 0; i < 6 + p; i++) {
      const anon = { anonymous_id: `${run}-a${i}` };
      const user = { user_id: `${run}-u${i}` };
      // Yesterday anonymous; today logged in (the same person both days); some buy.
      event(partner, "page_view", anon, at(1, i), { session_id: `${run}-s${i}-1` });
      event(partner, "page_view", anon, at(0, i), { session_id: `${run}-s${i}-2` });
      event(partner, "identify", { ...user, ...anon }, at(0, i + 1), { session_id: `${run}-s${i}-2` });
      if (i % 2 === 0)
        event(partner, "purchase", user, at(0, i + 2), { session_id: `${run}-s${i}-2`, cart_amount: 10 + i + p / 4 });
    }
    // Someone new today, never linked, on two sessions.
    event(partner, "page_view", { user_id: `${run}-new` }, at(0, 50), { session_id: `${run}-n1` });
    event(partner, "purchase", { user_id: `${run}-new` }, at(0, 51), { session_id: `${run}-n2`, cart_amount: 5 });
  }
  return events;
}

const sent = traffic();

beforeAll(async () => {
  for (const p of partners) keys[p] = (await createApiKey(drizzle(deps.sql), p)).key;
  const profiles = profileWorker(config, { name: `${run}-profiles` });
  const graph = identityWorker(config, { name: `${run}-identities` });
  const rows = identityTableWorker(config, { name: `${run}-identity-rows` });
  for (const worker of [profiles, graph, rows]) await skipToEnd(config, worker.name, worker.inputs as string[]);
  workers.push(await runWorker(profiles, config), await runWorker(graph, config), await runWorker(rows, config));
  for (const partner of partners) {
    const mine = sent.filter((e) => e.partner_id === partner);
    // Every third event twice: the warehouse loads it twice, the report counts it once.
    const body = [...mine, ...mine.filter((_, i) => i % 3 === 0)];
    const response = await app.request("/v1/events", {
      method: "POST",
      headers: { authorization: `Bearer ${keys[partner]}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
  }
  const linked = sent.filter((e) => e.type === "identify").length * 2;
  await eventually(
    "every linked identifier in warehouse.identities",
    async () => {
      const [{ rows }] = (await deps.sql`
        select count(*)::int as rows from warehouse.identities where partner_id in ${deps.sql(partners)}`) as unknown as [
        { rows: number },
      ];
      return rows === linked;
    },
    60_000,
  );
  await runExport(config, { tables: WAREHOUSE_TABLES.filter((t) => t.topic === TOPIC.clickstream) });
}, 180_000);
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await closeApiDependencies(deps);
});

/** The report from the warehouse rows: each event id once, a linked identifier counted as its person. */
async function expectedReport(partner: string): Promise<DailyRow[]> {
  const rows = await deps.sql<
    {
      event_id: string;
      type: string;
      cart_amount: string | null;
      session_id: string | null;
      user_id: string | null;
      anonymous_id: string | null;
      day: string;
    }[]
  >`select event_id, type, cart_amount::text, session_id, user_id, anonymous_id, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD') as day
    from warehouse.clickstream_events where partner_id = ${partner}`;
  const links = await deps.sql<
    { identifier_type: string; identifier_value: string; canonical_type: string; canonical_value: string }[]
  >`
    select identifier_type, identifier_value, canonical_type, canonical_value from warehouse.identities where partner_id = ${partner}`;
  const personOf = new Map(
    links.map((l) => [`${l.identifier_type}:${l.identifier_value}`, `${l.canonical_type}:${l.canonical_value}`]),
  );
  const events = new Map(rows.map((r) => [r.event_id, r]));
  const person = (r: (typeof rows)[number]) => {
    const own = r.user_id !== null ? `user_id:${r.user_id}` : `anonymous_id:${r.anonymous_id}`;
    return personOf.get(own) ?? own;
  };
  const firstDay = new Map<string, string>();
  for (const r of events.values()) {
    const p = person(r);
    if (!firstDay.has(p) || r.day < firstDay.get(p)!) firstDay.set(p, r.day);
  }
  const days = [...new Set([...events.values()].map((r) => r.day))].sort();
  return days.map((day) => {
    const mine = [...events.values()].filter((r) => r.day === day);
    const people = new Set(mine.map(person));
    const purchases = mine.filter((r) => r.type === "purchase");
    return {
      partner_id: partner,
      day,
      sessions: new Set(mine.flatMap((r) => (r.session_id ? [r.session_id] : []))).size,
      users: people.size,
      new_users: [...people].filter((p) => firstDay.get(p) === day).length,
      purchases: purchases.length,
      revenue: purchases.reduce((sum, r) => sum + Number(r.cart_amount), 0),
    };
  });
}

describe("the daily report", () => {
  test("bun run report equals plain SQL over the warehouse rows, and writes its chart", async () => {
    for (const partner of partners) {
      const want = await expectedReport(partner);
      expect(want.length).toBe(2);
      // Yesterday's anonymous visitors are today's users: people, not identifiers.
      expect(want[1]!.users).toBe(7 + partners.indexOf(partner));
      const chart = `${ROOT}.data/test-${run}-${partners.indexOf(partner)}.svg`;
      const { code, stdout, stderr } = await runCommand(
        [process.execPath, "infra/tools/report/cli.ts", "--partner", partner, "--json", "--chart", chart],
        { DATABASE_URL: config.DATABASE_URL },
      );
      expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
      expect(JSON.parse(stdout)).toEqual(want);
      const svg = await Bun.file(chart).text();
      expect(svg).toStartWith("<svg");
      expect(svg).toContain(partner);
      await Bun.file(chart).delete();
      const printed = await runCommand([
        process.execPath,
        "infra/tools/report/cli.ts",
        "--partner",
        partner,
        "--day",
        want[1]!.day,
        "--chart",
        chart,
      ]);
      console.log(`daily report, ${partner}:\n${printed.stdout.trimEnd()}`);
      await Bun.file(chart).delete();
    }
  }, 120_000);

  test("GET /v1/reports/daily answers the caller's partner's days, one day or a range", async () => {
    const want = await expectedReport(partners[0]!);
    const get = (query: string) =>
      app.request(`/v1/reports/daily${query}`, { headers: { authorization: `Bearer ${keys[partners[0]!]}` } });
    const all = (await (await get("")).json()) as { partner_id: string; days: Omit<DailyRow, "partner_id">[] };
    expect(all).toEqual({ partner_id: partners[0]!, days: want.map(({ partner_id: _, ...row }) => row) });
    const today = (await (await get(`?day=${want[1]!.day}`)).json()) as { days: unknown[] };
    expect(today.days).toHaveLength(1);
    expect((await get("?day=2026-02-31")).status).toBe(400);
    expect((await get("?day=2026-01-01&from=2026-01-01")).status).toBe(400);
    expect((await get("?partner=someone-else")).status).toBe(400);
  });
});
