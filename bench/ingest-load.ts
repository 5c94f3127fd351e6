import { parseArgs } from "node:util";
import { summarize } from "./lib/stats.ts";

/**
 * Closed-loop ingest load, its own process: `connections` loops each POST a
 * batch and send the next as soon as the 202 arrives, for `seconds`.
 * Batches come from a JSON file (an array of arrays). Prints one JSON line.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    url: { type: "string" },
    auth: { type: "string" },
    batches: { type: "string" },
    connections: { type: "string", default: "16" },
    seconds: { type: "string", default: "20" },
  },
});
const bodies = ((await Bun.file(values.batches!).json()) as unknown[][]).map((batch) => ({
  body: JSON.stringify(batch),
  count: batch.length,
}));
const deadline = performance.now() + Number(values.seconds) * 1000;
let accepted = 0;
let rejected = 0;
let next = 0;
const latencies: number[] = [];
const started = performance.now();
await Promise.all(
  Array.from({ length: Number(values.connections) }, async () => {
    while (performance.now() < deadline) {
      const { body, count } = bodies[next++ % bodies.length]!;
      const t0 = performance.now();
      const response = await fetch(values.url!, {
        method: "POST",
        headers: { authorization: `Bearer ${values.auth}`, "content-type": "application/json" },
        body,
      });
      await response.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (response.status === 202) accepted += count;
      else rejected += count;
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    accepted,
    rejected,
    seconds: elapsed,
    eventsPerSecond: accepted / elapsed,
    requestLatency: summarize(latencies),
  }),
);
process.exit(0);
