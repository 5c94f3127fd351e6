import { parseArgs } from "node:util";
import { startKeyService } from "./service.ts";

const usage = `usage: bun run keyservice [--port N] [--fail] [--delay-ms N]
  a stand-in subscriber-key service: GET /v1/subscriber-keys/:memberId
  POST /control {"failing": true|false, "delayMs": N, "failMembers": ["id", ...]} changes its behaviour while it runs`;
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    port: { type: "string", default: "8090" },
    fail: { type: "boolean", default: false },
    "delay-ms": { type: "string", default: "0" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const port = Number(values.port);
const delayMs = Number(values["delay-ms"]);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isFinite(delayMs) || delayMs < 0) {
  console.error(usage);
  process.exit(2);
}
const service = startKeyService({ port });
Object.assign(service.behaviour, { failing: values.fail, delayMs });
console.log(`subscriber-key service on ${service.url} (set SUBSCRIBER_KEY_URL=${service.url})`);
const stop = async () => {
  await service.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
