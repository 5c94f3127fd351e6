import { parseArgs } from "node:util";
import Redis from "ioredis";
import { httpPool } from "./http-pipeline.ts";
import { summarize } from "./lib/stats.ts";

/**
 * Open-loop load generator, run as its own process by the bench. Requests
 * are fired on a fixed schedule (every millisecond, all that are due)
 * whatever the answers do, so a slow server faces a growing queue instead of
 * a politely lowered rate (no coordinated omission). Latency runs from the
 * request's send to its answer; the achieved rate is reported beside it.
 * The same loop drives HTTP GETs (on a pool of keep-alive
 * connections, see http-pipeline.ts) and raw Redis GETs (ioredis, one
 * connection, pipelined), so a view and its baseline are measured by
 * one tool in the same way.
 *
 *   bun bench/load.ts --target http --url http://127.0.0.1:8080/v1/profiles/ --auth KEY --keys prefix:N --rate 10000 --seconds 30
 *   bun bench/load.ts --target redis --url redis://127.0.0.1:6379/14 --key-prefix profile: --keys prefix:N ...
 * Prints one JSON line: achieved rate, errors and latency percentiles (ms).
 */

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    target: { type: "string" },
    url: { type: "string" },
    auth: { type: "string" },
    "key-prefix": { type: "string", default: "" },
    users: { type: "string" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "64" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const [userPrefix, userCount] = (values.users ?? "user:1").split(":") as [string, string];
const pickUser = () => `${userPrefix}${Math.floor(Math.random() * Number(userCount))}`;

type Call = () => Promise<boolean>;
let call: Call;
if (values.target === "redis") {
  const redis = new Redis(values.url!, { enableAutoPipelining: false });
  call = async () => (await redis.get(`${values["key-prefix"]}${pickUser()}`)) !== null;
} else {
  const base = new URL(values.url!);
  const pool = await httpPool(
    values.url!,
    Number(values.connections),
    values.auth ? { authorization: `Bearer ${values.auth}` } : {},
  );
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
      const sentAt = performance.now();
      const p = call()
        .then((ok) => {
          if (!ok) errors++;
          if (record) latencies.push(performance.now() - sentAt);
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

await phase(warmup, false);
const result = await phase(seconds, true);
console.log(JSON.stringify({ target: values.target, rate, seconds, ...result }));
process.exit(0);
