import Redis from "ioredis";
import { parseArgs } from "node:util";
import { summarize } from "./stats.ts";

/**
 * Open-loop load generator, run as its own process by the bench. Requests
 * are fired on a fixed schedule whatever the answers do, and each latency is
 * measured from the moment the request was due, so a stall shows up in the
 * figures instead of silently lowering the rate (no coordinated omission).
 * The same loop drives HTTP GETs and raw Redis GETs, so a view and its
 * baseline are measured by one tool.
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
  const headers = values.auth ? { authorization: `Bearer ${values.auth}` } : undefined;
  call = async () => {
    const response = await fetch(`${values.url}${pickUser()}`, { headers });
    await response.arrayBuffer();
    return response.status === 200;
  };
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
      const scheduled = start + sent * interval;
      const p = call()
        .then((ok) => {
          if (!ok) errors++;
          if (record) latencies.push(performance.now() - scheduled);
        })
        .catch(() => void errors++)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Bun.sleep(Math.max(0, start + sent * interval - performance.now()));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  return { sent, errors, achievedRate: sent / elapsed, latency: summarize(latencies) };
}

await phase(warmup, false);
const result = await phase(seconds, true);
console.log(JSON.stringify({ target: values.target, rate, seconds, ...result }));
process.exit(0);
