import { existsSync } from "node:fs";
import { migrateDatabase } from "../../db/migrate.ts";
import { configOrExit, loadConfig } from "../platform/config.ts";
import { aptInstall } from "./stack/apt.ts";
import { ensureDatabase } from "./stack/postgres.ts";
import { applyDeclaredTopics, stackUp } from "./stack/stack.ts";
import { dropViews } from "./views.ts";

/**
 * `bun run test [bun test args...]`: bring the stack up when it is not (a
 * no-op when it is), then run every test against the real servers. Tests get
 * their own database, Redis db and search indices, so they never touch a
 * developer's data.
 */
const config = configOrExit();
try {
  await stackUp(config);
} catch (error) {
  console.error(`could not bring the stack up: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

// What tests drive besides the servers: Chromium for the console's browser
// test, Prometheus and promtool for the alert rules and the dashboard.
const missing = [
  ["/usr/bin/chromium", "chromium"],
  ["/usr/bin/promtool", "prometheus"],
].flatMap(([binary, pkg]) => (existsSync(binary!) ? [] : [pkg!]));
if (missing.length > 0) await aptInstall(missing);

const database = new URL(config.DATABASE_URL);
database.pathname = `${database.pathname.slice(1) || "postgres"}_test`;
const redis = new URL(config.REDIS_URL);
redis.pathname = "/15";
const env = {
  ...process.env,
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? database.toString(),
  REDIS_URL: process.env.TEST_REDIS_URL ?? redis.toString(),
  INDEX_PREFIX: "cdp-test-",
  // Tests start many worker processes; those that need a status port pick one.
  WORKER_STATUS_PORT: "0",
  EXPORT_METRICS_PORT: "0",
  CONSUMER_GROUP_PREFIX: "test-",
  // Topics of their own: a developer's running system (`bun run start`) and
  // the tests never see each other's records.
  TOPIC_PREFIX: "test.",
};
await ensureDatabase(env.DATABASE_URL);
await migrateDatabase(env.DATABASE_URL);
// Views left by an earlier run (maybe of older code) never leak into this one.
await dropViews(loadConfig(env));
await applyDeclaredTopics(loadConfig(env));

// Real servers: a consumer group join or a JVM start takes seconds, not ms.
const run = Bun.spawn([process.execPath, "test", "--timeout", "120000", ...process.argv.slice(2)], {
  env,
  stdio: ["inherit", "inherit", "inherit"],
});
process.exit(await run.exited);
