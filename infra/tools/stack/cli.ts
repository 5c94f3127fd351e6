import { configOrExit } from "../../platform/config.ts";
import { listeningStackPorts, stackDown, stackStatus, stackUp } from "./stack.ts";

const usage = `usage: bun run stack <up|down|status>
  up      start Postgres, Redis, Kafka (KRaft) and OpenSearch, apply topics and migrations
  down    stop every server the stack started
  status  each server with its version, port and state`;

const config = configOrExit();
const command = process.argv[2];

try {
  switch (command) {
    case "up":
      await stackUp(config);
      break;
    case "down": {
      await stackDown(config);
      const open = await listeningStackPorts(config);
      if (open.length > 0)
        console.log(`note: ports ${open.join(", ")} still listen (servers not started by this stack)`);
      break;
    }
    case "status": {
      const rows = await stackStatus(config);
      console.log(`${"server".padEnd(12)}${"state".padEnd(10)}${"port".padEnd(7)}version`);
      for (const s of rows)
        console.log(`${s.name.padEnd(12)}${s.state.padEnd(10)}${String(s.port).padEnd(7)}${s.version}`);
      break;
    }
    default:
      console.error(usage);
      process.exit(2);
  }
} catch (error) {
  console.error(`stack ${command} failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
process.exit(0);
