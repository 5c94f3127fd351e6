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
    producer: await createProducer(kafka),
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
  const server = Bun.serve({ port: config.PORT, hostname: "127.0.0.1", fetch: createApp(deps).fetch });
  logger("api").info(`listening on http://127.0.0.1:${server.port}`);
  return {
    port: server.port ?? config.PORT,
    async stop() {
      await server.stop();
      await closeApiDependencies(deps);
    },
  };
}

if (import.meta.main) {
  const api = await startApi(configOrExit());
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, async () => {
      await api.stop();
      process.exit(0);
    });
  }
}
