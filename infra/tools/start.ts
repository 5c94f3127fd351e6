import { join } from "node:path";
import { startApi } from "../../api/server.ts";
import { startWorkers } from "../../workers/main.ts";
import { stopOnSignals } from "../../workers/runtime/runner.ts";
import { publishStatus, startStatus } from "../../workers/runtime/status.ts";
import { configOrExit } from "../platform/config.ts";
import { startKeyService } from "./keyservice/service.ts";
import { startPushReceiver } from "./push-receiver/service.ts";
import type { Server } from "./stack/server.ts";
import { stackUp } from "./stack/stack.ts";

/**
 * `bun run start [--demo]`: the whole system in the foreground. Ctrl-C stops
 * the workers, the API and the servers this run started (servers that were
 * already up are left as they were). --demo also runs datagen at a gentle
 * rate through the API (clickstream, the commerce funnel, content traffic),
 * so profiles, attributed checkouts and content windows fill up to look at.
 * Unset SUBSCRIBER_KEY_URL and PUSH_WEBHOOK_URL get local stand-ins, so the
 * welcome emails and the pushes flow too.
 */
const settings = configOrExit();
let started: Server[] = [];
try {
  started = await stackUp(settings);
} catch (error) {
  console.error(`could not bring the stack up: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
// Every pipeline runs on a fresh machine: without a real subscriber-key
// service or push provider, local stand-ins take their place.
const standIns: { stop(): Promise<void> }[] = [];
let config = settings;
if (!config.SUBSCRIBER_KEY_URL) {
  const keys = startKeyService();
  standIns.push(keys);
  config = { ...config, SUBSCRIBER_KEY_URL: keys.url };
  console.log(`stand-in subscriber-key service on ${keys.url} (set SUBSCRIBER_KEY_URL for a real one)`);
}
if (!config.PUSH_WEBHOOK_URL) {
  const pushes = startPushReceiver({ file: join(config.RUNTIME_DIR, "push", "received.jsonl") });
  standIns.push(pushes);
  config = { ...config, PUSH_WEBHOOK_URL: pushes.url };
  console.log(
    `stand-in push receiver on ${pushes.url}, pushes kept in ${join(config.RUNTIME_DIR, "push", "received.jsonl")} (set PUSH_WEBHOOK_URL for a real one)`,
  );
}
const workers = await startWorkers(config, []);
await startStatus(workers, config);
const unpublish = publishStatus(workers, config);
const api = await startApi(config);
console.log(`system up: API on http://127.0.0.1:${api.port}, ${workers.length} worker(s); Ctrl-C to stop`);
const demoTraffic = [
  ["--mode", "clickstream", "--rate", "20"],
  ["--mode", "commerce", "--rate", "10"],
  ["--mode", "content", "--rate", "20"],
];
const demo = process.argv.includes("--demo")
  ? demoTraffic.map((args) =>
      Bun.spawn(
        [
          process.execPath,
          "infra/tools/datagen/cli.ts",
          ...args,
          "--duration",
          "86400",
          "--users",
          "500",
          "--via",
          "api",
        ],
        {
          cwd: `${import.meta.dir}/../..`,
          stdio: ["ignore", "inherit", "inherit"],
        },
      ),
    )
  : [];
stopOnSignals(workers, async () => {
  unpublish();
  for (const child of demo) child.kill("SIGTERM");
  await Promise.all(demo.map((child) => child.exited));
  await api.stop();
  await Promise.all(standIns.map((standIn) => standIn.stop()));
  for (const server of started.reverse()) {
    await server.down(config);
    console.log(`${server.name} stopped`);
  }
});
