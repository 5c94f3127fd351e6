import { parseArgs } from "node:util";
import Redis from "ioredis";
import "../infra/platform/tracing-channels.ts";
import { loadConfig } from "../infra/platform/config.ts";
import { profileKey } from "../workers/profiles/view.ts";
import { benchEvents } from "./lib/events.ts";
import { summarize } from "./lib/stats.ts";

/**
 * Freshness, its own process: post events through the API at a fixed rate
 * (batches of 100) and, every 100 ms, one probe event for a brand-new user.
 * After the probe's 202, watch Redis (every millisecond) until that user's
 * profile exists: the delay is 202 -> visible in the lookup store.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    url: { type: "string" },
    auth: { type: "string" },
    partner: { type: "string" },
    redis: { type: "string" },
    rate: { type: "string", default: "5000" },
    seconds: { type: "string", default: "60" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const run = `fr${Date.now().toString(36)}`;
const background = benchEvents(rate * seconds, { runId: run, users: 50_000, partner: values.partner! });
const redis = new Redis(values.redis!);
const partitions = loadConfig().TOPIC_PARTITIONS;
const delays: number[] = [];
const watches: Promise<void>[] = [];
let missed = 0;
let failed = 0;

async function watch(user: string, acceptedAt: number) {
  const deadline = acceptedAt + 30_000;
  while (performance.now() < deadline) {
    if ((await redis.exists(profileKey(values.partner!, user, { partitions }))) === 1) {
      delays.push(performance.now() - acceptedAt);
      return;
    }
    await Bun.sleep(1);
  }
  missed++;
}

const post = (events: unknown[]) =>
  fetch(values.url!, {
    method: "POST",
    headers: { authorization: `Bearer ${values.auth}`, "content-type": "application/json" },
    body: JSON.stringify(events),
  });

const started = performance.now();
const tickMs = 100;
const perTick = Math.round((rate * tickMs) / 1000);
const posts: Promise<void>[] = [];
for (let tick = 0; tick < (seconds * 1000) / tickMs; tick++) {
  const slice = background.slice(tick * perTick, (tick + 1) * perTick);
  const probe = {
    ...slice[0]!,
    event_id: `${run}-probe-${tick}`,
    user_id: `${run}-probe-${tick}`,
    type: "page_view" as const,
    occurred_at: new Date().toISOString(),
  };
  const batches = [[probe, ...slice.slice(1, 100)]];
  for (let i = 100; i < slice.length; i += 100) batches.push(slice.slice(i, i + 100));
  posts.push(
    ...batches.map(async (batch, i) => {
      const response = await post(batch);
      if (response.status !== 202) {
        failed += batch.length;
        return;
      }
      if (i === 0) watches.push(watch(probe.user_id, performance.now()));
    }),
  );
  const wait = started + (tick + 1) * tickMs - performance.now();
  if (wait > 0) await Bun.sleep(wait);
}
await Promise.all(posts);
await Promise.all(watches);
const elapsed = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    rate,
    seconds: elapsed,
    failedEvents: failed,
    probes: delays.length,
    missed,
    delay: summarize(delays),
  }),
);
redis.disconnect();
process.exit(0);
