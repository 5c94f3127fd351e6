import { drizzle } from "drizzle-orm/postgres-js";
import { parseArgs } from "node:util";
import { createApiKey } from "../../api/keys.ts";
import { createSql } from "../clients.ts";
import { configOrExit } from "../config.ts";
import { CLICKSTREAM_TOPIC, type ClickstreamEvent } from "../contracts/clickstream.ts";
import { createKafka } from "../kafka/client.ts";
import { createProducer } from "../kafka/producer.ts";
import { clickstreamGenerator } from "./clickstream.ts";

const usage = `usage: bun run datagen [options]
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
    via: { type: "string", default: "api" },
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
if (values.via !== "api" && values.via !== "topic") {
  console.error(`--via: expected api or topic\n${usage}`);
  process.exit(2);
}

const config = configOrExit();
const rate = number("rate", values.rate, 1);
const duration = number("duration", values.duration, 1);
const partners = number("partners", values.partners, 1);
const seed = values.seed ? number("seed", values.seed, 0) : Date.now() % 1_000_000;
const runId = `dg${seed.toString(36)}`;
const generator = clickstreamGenerator({ users: number("users", values.users, 1), partners, seed, runId });
const api = values.api ?? `http://127.0.0.1:${config.PORT}`;

/** Where the events go: one call per slice of events, resolved when accepted. */
async function openSink(): Promise<{ send(events: ClickstreamEvent[]): Promise<void>; close(): Promise<void> }> {
  if (values.via === "topic") {
    const producer = await createProducer(createKafka(config));
    return {
      send: (events) => producer.send(events.map((e) => ({ topic: CLICKSTREAM_TOPIC, key: e.user_id, value: e }))),
      close: () => producer.disconnect(),
    };
  }
  // One key per partner, made directly in the database the API reads.
  const sql = createSql(config, 1);
  const keys = new Map<string, string>();
  for (let p = 0; p < partners; p++) keys.set(`${runId}-partner-${p}`, (await createApiKey(drizzle(sql), `${runId}-partner-${p}`)).key);
  await sql.end();
  return {
    async send(events) {
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
console.log(`datagen ${runId}: ${rate} events/s for ${duration}s via ${values.via === "api" ? api : CLICKSTREAM_TOPIC}`);

let lastReport = started;
for (let tick = 0; Date.now() - started < duration * 1000; tick++) {
  const due = Math.round(((tick + 1) * tickMs * rate) / 1000) - Math.round((tick * tickMs * rate) / 1000);
  const events = Array.from({ length: due }, () => generator.next());
  try {
    await sink.send(events);
    sent += events.length;
    for (const e of events) {
      byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
      users.add(e.user_id);
    }
  } catch (error) {
    failed += events.length;
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
console.log(`  users ${users.size}, partners ${partners}, sessions ${generator.sessions}, run id ${runId}`);
console.log(`  by type: ${[...byType].sort().map(([t, n]) => `${t} ${n}`).join(", ")}`);
process.exit(failed > 0 ? 1 : 0);
