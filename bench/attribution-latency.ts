import { parseArgs } from "node:util";
import { createSql } from "../infra/platform/clients.ts";
import { loadConfig } from "../infra/platform/config.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { commerceGenerator, RECORDS_PER_SESSION, SESSION_WARMUP_MS } from "../infra/tools/datagen/commerce.ts";
import { runProbes } from "./probes.ts";

/**
 * Checkout -> row latency, its own process: the commerce funnel runs in the
 * background at `rate` records/s (real time), and every `interval` ms a probe
 * user clicks a product and buys it; from the broker's ack of the checkout,
 * Postgres is polled every millisecond until the checkout's row holds the
 * click. That path crosses the attribution fold, commerce.attributed and the
 * row writer's transaction.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rate: { type: "string", default: "2000" },
    seconds: { type: "string", default: "30" },
    interval: { type: "string", default: "50" },
  },
});
const config = loadConfig();
const sql = createSql(config, 4);
const producer = await createProducer(config);
const run = `al${Date.now().toString(36)}`;
const rate = Number(values.rate);
// Sessions emit over many minutes: a funnel started now would send a
// fraction of `rate` for the whole run. It starts in the past instead, and
// what it made before now is dropped unsent, so the run meets it near its
// steady rate (the achieved rate is reported beside the one asked).
const warmedFrom = Date.now() - SESSION_WARMUP_MS;
const background = commerceGenerator({
  users: 50_000,
  products: 2000,
  seed: 9,
  runId: run,
  start: warmedFrom,
  sessionsPerSecond: rate / RECORDS_PER_SESSION,
});
for (let time = warmedFrom; time < Date.now(); time += 10_000) background.advanceTo(time);
background.advanceTo(Date.now());
let backgroundSent = 0;

const attributed = async (checkoutId: string) =>
  (await sql`select 1 from attributed_checkouts where checkout_id = ${checkoutId} and click_id is not null`).length > 0;

let stopped = false;
const traffic = (async () => {
  while (!stopped) {
    const records = background.advanceTo(Date.now()).flatMap((item) => (item.kind === "record" ? [item.record] : []));
    await producer.send(records);
    backgroundSent += records.length;
    await Bun.sleep(10);
  }
})();

const result = await runProbes({ seconds: Number(values.seconds), intervalMs: Number(values.interval) }, async (i) => {
  const user = `${run}-probe-${i}`;
  const now = new Date();
  await producer.send([
    {
      topic: TOPIC.clicks,
      key: user,
      value: {
        click_id: `${user}-c`,
        user_id: user,
        product_id: "probe",
        occurred_at: new Date(now.getTime() - 1000).toISOString(),
      },
    },
  ]);
  await producer.send([
    {
      topic: TOPIC.checkouts,
      key: user,
      value: {
        checkout_id: `${user}-k`,
        user_id: user,
        product_id: "probe",
        total_amount: 9.99,
        occurred_at: now.toISOString(),
      },
    },
  ]);
  return () => attributed(`${user}-k`);
});
stopped = true;
await traffic;
await producer.disconnect();
await sql.end();
console.log(JSON.stringify({ ...result, backgroundRecordsPerSecond: backgroundSent / Number(values.seconds) }));
process.exit(0);
