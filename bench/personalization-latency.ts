import { parseArgs } from "node:util";
import { createRedis } from "../infra/platform/clients.ts";
import { loadConfig } from "../infra/platform/config.ts";
import type { Interaction } from "../infra/platform/contracts/content.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { contentGenerator } from "../infra/tools/datagen/content.ts";
import { activityDocumentKey } from "../workers/personalization/view.ts";
import { windowStart } from "../workers/personalization/windows.ts";
import { summarize } from "./lib/stats.ts";
import { runProbes } from "./probes.ts";

/**
 * Event -> window result, its own process: content traffic runs in the
 * background at `rate` records/s with event time = now (so every partition's
 * stream time moves), and every `interval` ms a probe user opens something;
 * Redis is polled every millisecond until the user's activity view holds the
 * window. The path crosses the join, the user-activity window (which closes
 * when its partition's stream time passes the window's end) and the views.
 * Reported from the probe's ack (per probe) and from its window's end (per
 * window: until the window's last probe was readable), after a warm-up: one
 * open through the whole path, then 2 s more traffic.
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
const redis = createRedis(config);
const producer = await createProducer(config);
const run = `pl${Date.now().toString(36)}`;
const rate = Number(values.rate);
const background = contentGenerator({ users: 20_000, contents: 2000, seed: 21, runId: run });
let backgroundSent = 0;

let stopped = false;
const traffic = (async () => {
  const started = Date.now();
  while (!stopped) {
    const due = Math.floor(((Date.now() - started) * rate) / 1000) - backgroundSent;
    const records = Array.from({ length: Math.max(0, due) }, () => background.next(Date.now())).flatMap((item) =>
      item.kind === "record" ? [item.record] : [],
    );
    await producer.send(records);
    backgroundSent += Math.max(0, due);
    await Bun.sleep(10);
  }
})();

/** An open by `user` now, acked; `readable` tells whether the user's activity view holds it yet. */
async function open(user: string) {
  const now = Date.now();
  const value: Interaction = {
    user_id: user,
    content_id: "probe",
    action: "opened",
    occurred_at: new Date(now).toISOString(),
    liked: false,
    shared: false,
  };
  await producer.send([{ topic: TOPIC.interactions, key: user, value }]);
  return {
    end: windowStart(now, config.CONTENT_WINDOW_MS) + config.CONTENT_WINDOW_MS,
    acked: Date.now(),
    readable: async () =>
      (await redis.exists(activityDocumentKey(user, { partitions: config.TOPIC_PARTITIONS }))) === 1,
  };
}

// The stages started just before this script: the figures start once an
// open has come through the whole path and the traffic has run 2 s more,
// so a group joining or a cold start is not counted as latency.
const warmupStarted = Date.now();
const first = await open(`${run}-warmup`);
while (!(await first.readable())) {
  if (Date.now() - warmupStarted > 60_000) throw new Error("no open came through the stages within 60 s");
  await Bun.sleep(5);
}
await Bun.sleep(2000);
const warmupMs = Date.now() - warmupStarted;
const sentBeforeProbes = backgroundSent;
const probesStarted = Date.now();

/** Per window (by its end): from the end to the moment its last probe was readable. One figure per window closing. */
const afterWindowEnd = new Map<number, number>();
const result = await runProbes({ seconds: Number(values.seconds), intervalMs: Number(values.interval) }, async (i) => {
  const { end, acked, readable } = await open(`${run}-probe-${i}`);
  return async () => {
    if (!(await readable())) return false;
    // A probe acked after its window ended (a 1 s window under load) counts from its ack instead.
    const delay = Date.now() - Math.max(end, acked);
    afterWindowEnd.set(end, Math.max(afterWindowEnd.get(end) ?? 0, delay));
    return true;
  };
});
const probeSeconds = (Date.now() - probesStarted) / 1000;
stopped = true;
await traffic;
await producer.disconnect();
redis.disconnect();
console.log(
  JSON.stringify({
    ...result,
    afterWindowEnd: summarize([...afterWindowEnd.values()]),
    windows: afterWindowEnd.size,
    windowMs: config.CONTENT_WINDOW_MS,
    warmupMs,
    backgroundRecordsPerSecond: (backgroundSent - sentBeforeProbes) / probeSeconds,
  }),
);
process.exit(0);
