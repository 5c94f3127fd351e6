import { configOrExit, type Config } from "../infra/config.ts";
import { createOpenSearch, createRedis, createSql } from "../infra/clients.ts";
import { createKafka } from "../infra/kafka/client.ts";
import { logger } from "../infra/log.ts";
import { createApp } from "./app.ts";

export type RunningApi = { port: number; stop(): Promise<void> };

export async function startApi(config: Config): Promise<RunningApi> {
  const admin = createKafka(config).admin();
  await admin.connect();
  const deps = { admin, redis: createRedis(config), sql: createSql(config), search: createOpenSearch(config) };
  const server = Bun.serve({ port: config.PORT, hostname: "127.0.0.1", fetch: createApp(deps).fetch });
  logger("api").info(`listening on http://127.0.0.1:${server.port}`);
  return {
    port: server.port ?? config.PORT,
    async stop() {
      await server.stop();
      await admin.disconnect();
      deps.redis.disconnect();
      await deps.sql.end({ timeout: 5 });
      await deps.search.close();
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
