import { drizzle } from "drizzle-orm/postgres-js";
import { createOpenSearch, createRedis, createSql } from "../infra/platform/clients.ts";
import { type Config, configOrExit } from "../infra/platform/config.ts";
import { createKafka } from "../infra/platform/kafka/client.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { logger } from "../infra/platform/log.ts";
import { type AppDependencies, createApp } from "./app.ts";
import { apiKeyResolver } from "./http/keys.ts";

export type RunningApi = { port: number; stop(): Promise<void> };

/** Connect to the stores and the broker, then build the app. */
export async function connectApiDependencies(config: Config): Promise<AppDependencies> {
  const kafka = createKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  const sql = createSql(config);
  return {
    config,
    admin,
    producer: await createProducer(config),
    redis: createRedis(config),
    sql,
    search: createOpenSearch(config),
    resolveApiKey: apiKeyResolver(drizzle(sql)),
  };
}

export async function closeApiDependencies(deps: AppDependencies): Promise<void> {
  await deps.producer.disconnect();
  await deps.admin.disconnect();
  deps.redis.disconnect();
  await deps.sql.end({ timeout: 5 });
  await deps.search.close();
}

export async function startApi(config: Config): Promise<RunningApi> {
  const deps = await connectApiDependencies(config);
  const server = Bun.serve({
    port: config.PORT,
    hostname: config.HOST,
    // Several processes on one port: the kernel spreads connections between them.
    reusePort: config.API_PROCESSES > 1,
    fetch: createApp(deps).fetch,
  });
  logger("api").info(`listening on http://${config.HOST}:${server.port}`);
  return {
    port: server.port ?? config.PORT,
    async stop() {
      await server.stop();
      await closeApiDependencies(deps);
    },
  };
}

/** `bun run api`: API_PROCESSES processes on one port, this one and its children, stopped together. */
if (import.meta.main) {
  const config = configOrExit();
  const isChild = process.argv.includes("--child");
  // A child outliving its parent (even one killed by SIGKILL) would go on
  // serving the port unsupervised, beside the ones a restart starts: the
  // parent's end of the IPC channel closing stops it.
  if (isChild) process.on("disconnect", () => process.exit(1));
  const children = isChild
    ? []
    : Array.from({ length: config.API_PROCESSES - 1 }, () =>
        Bun.spawn([process.execPath, import.meta.path, "--child"], {
          stdio: ["ignore", "inherit", "inherit"],
          ipc() {},
        }),
      );
  let stopping = false;
  for (const child of children)
    child.exited.then((code) => {
      if (stopping) return;
      // One process gone would silently halve the capacity: stop all, for the supervisor to restart.
      logger("api").error(`an API process exited (${code}); stopping`);
      for (const other of children) other.kill("SIGTERM");
      process.exit(1);
    });
  const api = await startApi(config);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, async () => {
      stopping = true;
      for (const child of children) child.kill(signal);
      await Promise.all([api.stop(), ...children.map((child) => child.exited)]);
      process.exit(0);
    });
  }
}
