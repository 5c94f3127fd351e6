import { parseArgs } from "node:util";
import Redis from "ioredis";
import "../infra/platform/tracing-channels.ts";
import { profileResponseKey } from "../workers/profiles/view.ts";
import { userInfoResponseKey } from "../workers/userinfo/view.ts";
import { httpPool } from "./http-pipeline.ts";
import { summarize } from "./lib/stats.ts";

/**
 * Load generator, run as its own process by the bench.
 *
 * `--mode rate` (default) is open-loop: requests are fired on a fixed
 * schedule (every millisecond, all that are due) whatever the answers do,
 * and each latency runs from the request's *scheduled* time to its answer,
 * so a server (or a generator) that falls behind shows its queueing in the
 * figures instead of hiding it (no coordinated omission). `--mode saturate`
 * is closed-loop: every connection sends its next request as soon as the
 * last is answered, for the most requests per second the target gives.
 *
 * The same loop drives HTTP GETs (over `--connections` keep-alive
 * connections, see http-pipeline.ts) and raw Redis GETs (over as many
 * ioredis connections), so a view and its baseline are measured by one tool
 * with the same number of connections.
 *
 *   bun bench/load.ts --target http --url http://127.0.0.1:8080/v1/profiles/ --auth KEY --users prefix:N --rate 10000 --seconds 30
 *   bun bench/load.ts --target redis --url redis://127.0.0.1:6379/14 --view profiles --partner P --partitions 12 --users prefix:N ...
 * (`--view profiles|users`: the Redis key of the answer that view's lookup sends, as the API finds it)
 * Prints one JSON line: requests sent, achieved rate, errors and latency percentiles (ms).
 */

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    target: { type: "string" },
    mode: { type: "string", default: "rate" },
    url: { type: "string" },
    auth: { type: "string" },
    view: { type: "string", default: "profiles" },
    partner: { type: "string", default: "" },
    partitions: { type: "string", default: "12" },
    users: { type: "string" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "16" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const [userPrefix, userCount] = (values.users ?? "user:1").split(":") as [string, string];
const pickUser = () => `${userPrefix}${Math.floor(Math.random() * Number(userCount))}`;

type Call = () => Promise<boolean>;
let call: Call;
if (values.target === "redis") {
  const partitions = Number(values.partitions);
  const keyOf =
    values.view === "users"
      ? (id: string) => userInfoResponseKey(id, { partitions })
      : (id: string) => profileResponseKey(values.partner!, id, { partitions });
  const clients = Array.from({ length: connections }, () => new Redis(values.url!, { enableAutoPipelining: false }));
  let next = 0;
  call = async () => {
    next = (next + 1) % clients.length;
    return (await clients[next]!.getBuffer(keyOf(pickUser()))) !== null;
  };
} else {
  const base = new URL(values.url!);
  const pool = await httpPool(values.url!, connections, values.auth ? { authorization: `Bearer ${values.auth}` } : {});
  call = async () => (await pool.get(`${base.pathname}${pickUser()}`)) === 200;
}

async function phase(durationS: number, record: boolean) {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const interval = 1000 / rate;
  const start = performance.now();
  const end = start + durationS * 1000;
  const inFlight = new Set<Promise<void>>();
  // Fire every request that is due, then sleep until the next one.
  while (true) {
    const now = performance.now();
    if (now >= end) break;
    const due = Math.floor((now - start) / interval) + 1;
    for (; sent < due; sent++) {
      const scheduledAt = start + sent * interval;
      const p = call()
        .then((ok) => {
          if (!ok) errors++;
          if (record) latencies.push(performance.now() - scheduledAt);
        })
        .catch(() => void errors++)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    // A 1 ms tick: spinning faster would steal the CPU the server needs.
    await Bun.sleep(1);
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  return { sent, errors, achievedRate: sent / elapsed, latency: summarize(latencies) };
}

/** Closed loop: each connection's next request goes when its last is answered. */
async function saturate(durationS: number, record: boolean) {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  const end = start + durationS * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const at = performance.now();
        sent++;
        const ok = await call().catch(() => false);
        if (!ok) errors++;
        if (record) latencies.push(performance.now() - at);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { sent, errors, achievedRate: sent / elapsed, latency: summarize(latencies) };
}

const run = values.mode === "saturate" ? saturate : phase;
await run(warmup, false);
const result = await run(seconds, true);
console.log(JSON.stringify({ target: values.target, mode: values.mode, rate, seconds, connections, ...result }));
process.exit(0);
