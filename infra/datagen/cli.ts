import { drizzle } from "drizzle-orm/postgres-js";
import { parseArgs } from "node:util";
import { createApiKey } from "../../api/keys.ts";
import { createSql } from "../clients.ts";
import { configOrExit } from "../config.ts";
import { CLICKSTREAM_TOPIC, type ClickstreamEvent } from "../contracts/clickstream.ts";
import { createKafka } from "../kafka/client.ts";
import { createProducer } from "../kafka/producer.ts";
import type { OutRecord } from "../kafka/producer.ts";
import { clickstreamGenerator } from "./clickstream.ts";
import { socialGenerator } from "./social.ts";

const usage = `usage: bun run datagen [options]
  --mode M        clickstream (default) or social (users, tweets, follows, likes; always --via topic)
  --rate N        events per second (default 1000)
  --duration S    seconds to run (default 60)
  --users N       size of the user pool (default 10000)
  --partners N    partners (default 10)
  --via api|topic through POST /v1/events (default) or straight to ${CLICKSTREAM_TOPIC}
  --api URL       the API's base URL (default http://127.0.0.1:$PORT)
  --seed N        random seed (default: time)`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rate: { type: "string", default: "1000" },
    duration: { type: "string", default: "60" },
    users: { type: "string", default: "10000" },
    partners: { type: "string", default: "10" },
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
if (values.mode !== "clickstream" && values.mode !== "social") {
  console.error(`--mode: expected clickstream or social\n${usage}`);
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
/** The next record and what it counts as in the summary. */
function next(): { record: OutRecord; event?: ClickstreamEvent; label: string } {
  if (values.mode === "social") {
    const record = social.next();
    const type = (record.value as { type?: string } | null)?.type ?? (record.value === null ? "user deleted" : "user upsert");
    return { record, label: `${record.topic} ${type}` };
  }
  const event = clicks.next();
  return { record: { topic: CLICKSTREAM_TOPIC, key: event.user_id, value: event }, event, label: event.type };
}
const api = values.api ?? `http://127.0.0.1:${config.PORT}`;

/** Where the events go: one call per slice of events, resolved when accepted. */
async function openSink(): Promise<{ send(items: ReturnType<typeof next>[]): Promise<void>; close(): Promise<void> }> {
  if (via === "topic") {
    const producer = await createProducer(createKafka(config));
    return {
      send: (items) => producer.send(items.map((i) => i.record)),
      close: () => producer.disconnect(),
    };
  }
  // One key per partner, made directly in the database the API reads.
  const sql = createSql(config, 1);
  const keys = new Map<string, string>();
  for (let p = 0; p < partners; p++) keys.set(`${runId}-partner-${p}`, (await createApiKey(drizzle(sql), `${runId}-partner-${p}`)).key);
  await sql.end();
  return {
    async send(items) {
      const events = items.map((i) => i.event!);
      const byPartner = Map.groupBy(events, (e) => e.partner_id);
      await Promise.all(
        [...byPartner].flatMap(([partner, list]) => {
          const requests: Promise<void>[] = [];
          for (let i = 0; i < list.length; i += 100) {
            requests.push(
              fetch(`${api}/v1/events`, {
                method: "POST",
                headers: { authorization: `Bearer ${keys.get(partner)}`, "content-type": "application/json" },
                body: JSON.stringify(list.slice(i, i + 100)),
              }).then(async (response) => {
                if (response.status !== 202) throw new Error(`POST /v1/events answered ${response.status}: ${await response.text()}`);
              }),
            );
          }
          return requests;
        }),
      );
    },
    close: async () => {},
  };
}

const sink = await openSink();
const byType = new Map<string, number>();
const users = new Set<string>();
let sent = 0;
let failed = 0;
const started = Date.now();
const tickMs = 100;
console.log(`datagen ${runId}: ${values.mode}, ${rate} events/s for ${duration}s via ${via === "api" ? api : "the topics"}`);

let lastReport = started;
for (let tick = 0; Date.now() - started < duration * 1000; tick++) {
  const due = Math.round(((tick + 1) * tickMs * rate) / 1000) - Math.round((tick * tickMs * rate) / 1000);
  const items = Array.from({ length: due }, next);
  try {
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

const seconds = (Date.now() - started) / 1000;
console.log(`sent ${sent} events (${failed} failed) in ${seconds.toFixed(1)}s = ${(sent / seconds).toFixed(0)}/s`);
console.log(values.mode === "social" ? `  keys ${users.size}, users ${userCount}, run id ${runId}` : `  users ${users.size}, partners ${partners}, sessions ${clicks.sessions}, run id ${runId}`);
console.log(`  by type: ${[...byType].sort().map(([t, n]) => `${t} ${n}`).join(", ")}`);
process.exit(failed > 0 ? 1 : 0);
