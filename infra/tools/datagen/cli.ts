import { parseArgs } from "node:util";
import { drizzle } from "drizzle-orm/postgres-js";
import { INGEST_PATHS, INGEST_SCOPES } from "../../../api/http/ingest-endpoints.ts";
import { createApiKey } from "../../../api/http/keys.ts";
import { writeUserVersions } from "../../../db/users.ts";
import { createSql } from "../../platform/clients.ts";
import { configOrExit } from "../../platform/config.ts";
import { clickstreamKey } from "../../platform/contracts/clickstream.ts";
import type { OutRecord } from "../../platform/kafka/producer.ts";
import { createProducer } from "../../platform/kafka/producer.ts";
import { TOPIC } from "../../platform/topology.ts";
import { clickstreamGenerator } from "./clickstream.ts";
import { commerceGenerator, RECORDS_PER_SESSION } from "./commerce.ts";
import { contentGenerator } from "./content.ts";
import { socialGenerator } from "./social.ts";

const usage = `usage: bun run datagen [options]
  --mode M        clickstream (default); social (users, tweets, follows, likes; always --via topic);
                  commerce (product clicks and checkouts in a funnel, and user renames in Postgres);
                  content (beacons and content interactions, users and their region moves in Postgres)
  --rate N        events per second (default 1000; commerce: on average, in sessions of ~${RECORDS_PER_SESSION} events)
  --products N    commerce: size of the product catalogue (default 500)
  --contents N    content: size of the content catalogue (default 1000)
  --duration S    seconds to run (default 60)
  --users N       size of the user pool (default 10000)
  --partners N    partners (default 10)
  --via api|topic through the API's ingest endpoints (default) or straight to the topics
  --api URL       the API's base URL (default http://127.0.0.1:$PORT)
  --seed N        random seed (default: time)`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rate: { type: "string", default: "1000" },
    duration: { type: "string", default: "60" },
    users: { type: "string", default: "10000" },
    partners: { type: "string", default: "10" },
    products: { type: "string", default: "500" },
    contents: { type: "string", default: "1000" },
    via: { type: "string" },
    mode: { type: "string", default: "clickstream" },
    api: { type: "string" },
    seed: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
const number = (name: string, value: string | undefined, min: number) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name}: expected a number >= ${min}, got ${JSON.stringify(value)}\n${usage}`);
    process.exit(2);
  }
  return n;
};
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const MODES = ["clickstream", "social", "commerce", "content"];
if (!MODES.includes(values.mode)) {
  console.error(`--mode: expected ${MODES.join(", ")}\n${usage}`);
  process.exit(2);
}
// The social topics have no ingest endpoint: upstream services write them directly.
const via = values.via ?? (values.mode === "social" ? "topic" : "api");
if (via !== "api" && via !== "topic") {
  console.error(`--via: expected api or topic\n${usage}`);
  process.exit(2);
}
if (values.mode === "social" && via !== "topic") {
  console.error(`--mode social writes straight to the topics: use --via topic\n${usage}`);
  process.exit(2);
}

const config = configOrExit();
const rate = number("rate", values.rate, 1);
const duration = number("duration", values.duration, 1);
const partners = number("partners", values.partners, 1);
const seed = values.seed ? number("seed", values.seed, 0) : Date.now() % 1_000_000;
const runId = `dg${seed.toString(36)}`;
const userCount = number("users", values.users, 1);
const clicks = clickstreamGenerator({ users: userCount, partners, seed, runId });
const social = socialGenerator({ users: userCount, seed, runId });
const started = Date.now();
const commerce = commerceGenerator({
  users: userCount,
  products: number("products", values.products, 1),
  seed,
  runId,
  start: started,
  sessionsPerSecond: rate / RECORDS_PER_SESSION,
});
const content = contentGenerator({ users: userCount, contents: number("contents", values.contents, 1), seed, runId });
const sql = createSql(config, 2);
if (values.mode === "commerce") await writeUserVersions(sql, commerce.initialUsers());
if (values.mode === "content") await writeUserVersions(sql, content.initialUsers());

const byType = new Map<string, number>();

/** A record to send and what it counts as in the summary; `partner` picks the API key. */
type Item = { record: OutRecord; label: string; partner?: string };

/** What is due in a tick: `count` records, or (commerce) everything up to now in event time. */
async function due(count: number): Promise<Item[]> {
  if (values.mode === "commerce") {
    const items = commerce.advanceTo(Date.now());
    const renamed = items.flatMap((item) => (item.kind === "user" ? [item.user] : []));
    await writeUserVersions(sql, renamed);
    byType.set("user renamed", (byType.get("user renamed") ?? 0) + renamed.length);
    return items.flatMap((item) => (item.kind === "record" ? [{ record: item.record, label: item.record.topic }] : []));
  }
  if (values.mode === "content") {
    // Event times up to 2 s in the past: the apps' events arrive a little out of order.
    const items = Array.from({ length: count }, () => content.next(Date.now() - Math.floor(Math.random() * 2000)));
    const moved = items.flatMap((item) => (item.kind === "user" ? [item.user] : []));
    await writeUserVersions(sql, moved);
    byType.set("user moved", (byType.get("user moved") ?? 0) + moved.length);
    return items.flatMap((item) => (item.kind === "record" ? [{ record: item.record, label: item.record.topic }] : []));
  }
  return Array.from({ length: count }, (): Item => {
    if (values.mode === "social") {
      const record = social.next();
      const type =
        (record.value as { type?: string } | null)?.type ?? (record.value === null ? "user deleted" : "user upsert");
      return { record, label: `${record.topic} ${type}` };
    }
    const event = clicks.next();
    return {
      record: { topic: TOPIC.clickstream, key: clickstreamKey(event), value: event },
      label: event.type,
      partner: event.partner_id,
    };
  });
}
const api = values.api ?? `http://127.0.0.1:${config.PORT}`;

/** Where the events go: one call per slice of events, resolved when accepted. */
async function openSink(): Promise<{ send(items: Item[]): Promise<void>; close(): Promise<void> }> {
  if (via === "topic") {
    const producer = await createProducer(config);
    return {
      send: (items) => producer.send(items.map((i) => i.record)),
      close: () => producer.disconnect(),
    };
  }
  // One key per partner, made directly in the database the API reads.
  const keys = new Map<string, string>();
  const keyOf = async (partner: string) => {
    if (!keys.has(partner)) keys.set(partner, (await createApiKey(drizzle(sql), partner, INGEST_SCOPES)).key);
    return keys.get(partner)!;
  };
  return {
    async send(items) {
      const groups = Map.groupBy(items, (i) => `${i.record.topic} ${i.partner ?? `${runId}-partner-0`}`);
      const requests: Promise<void>[] = [];
      for (const [group, list] of groups) {
        const [topic, partner] = group.split(" ") as [string, string];
        const path = INGEST_PATHS[topic];
        if (!path) throw new Error(`no ingest endpoint for ${topic}`);
        const key = await keyOf(partner);
        for (let i = 0; i < list.length; i += 100) {
          requests.push(
            fetch(`${api}${path}`, {
              method: "POST",
              headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
              body: JSON.stringify(list.slice(i, i + 100).map((item) => item.record.value)),
            }).then(async (response) => {
              if (response.status !== 202)
                throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
            }),
          );
        }
      }
      await Promise.all(requests);
    },
    close: async () => {},
  };
}

const sink = await openSink();
const users = new Set<string>();
let sent = 0;
let failed = 0;
const tickMs = 100;
console.log(
  `datagen ${runId}: ${values.mode}, ${rate} events/s for ${duration}s via ${via === "api" ? api : "the topics"}`,
);

let lastReport = started;
for (let tick = 0; Date.now() - started < duration * 1000; tick++) {
  const count = Math.round(((tick + 1) * tickMs * rate) / 1000) - Math.round((tick * tickMs * rate) / 1000);
  let items: Item[] = [];
  try {
    items = await due(count);
    await sink.send(items);
    sent += items.length;
    for (const item of items) {
      byType.set(item.label, (byType.get(item.label) ?? 0) + 1);
      if (item.record.key) users.add(item.record.key);
    }
  } catch (error) {
    failed += items.length;
    console.error(`send failed: ${(error as Error).message}`);
  }
  if (Date.now() - lastReport >= 5000) {
    lastReport = Date.now();
    console.log(`  ${((Date.now() - started) / 1000).toFixed(0)}s: ${sent} sent, ${failed} failed`);
  }
  const wait = started + (tick + 1) * tickMs - Date.now();
  if (wait > 0) await Bun.sleep(wait);
}
await sink.close();
await sql.end();

const seconds = (Date.now() - started) / 1000;
console.log(`sent ${sent} events (${failed} failed) in ${seconds.toFixed(1)}s = ${(sent / seconds).toFixed(0)}/s`);
const summary: Record<string, string> = {
  social: `  keys ${users.size}, users ${userCount}, run id ${runId}`,
  commerce: `  users ${users.size}, run id ${runId} (clicks and checkouts still scheduled when it stopped: ${commerce.scheduled})`,
  clickstream: `  users ${users.size}, partners ${partners}, sessions ${clicks.sessions}, run id ${runId}`,
  content: `  users ${users.size} (every tenth not in Postgres), run id ${runId}`,
};
console.log(summary[values.mode]);
console.log(
  `  by type: ${[...byType]
    .sort()
    .map(([t, n]) => `${t} ${n}`)
    .join(", ")}`,
);
process.exit(failed > 0 ? 1 : 0);
