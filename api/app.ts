import { Hono } from "hono";
import type { Config } from "../infra/config.ts";
import type { Producer } from "../infra/kafka/producer.ts";
import { profilesIndex } from "../workers/profiles/profile.ts";
import { userInfoIndex } from "../workers/userinfo/userinfo.ts";
import { apiKeyAuth } from "./auth.ts";
import { problem } from "./errors.ts";
import type { Dependencies } from "./readiness.ts";
import { checkoutRoutes } from "./routes/checkouts.ts";
import { contentRoutes } from "./routes/content.ts";
import { healthRoutes } from "./routes/health.ts";
import { INGEST_ENDPOINTS } from "./ingest-endpoints.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { profileRoutes } from "./routes/profiles.ts";
import { userRoutes } from "./routes/users.ts";

export type AppDependencies = Dependencies & {
  config: Config;
  producer: Producer;
  resolveApiKey(key: string): Promise<string | undefined>;
};

export function createApp(deps: AppDependencies): Hono {
  const app = new Hono();
  app.route("/", healthRoutes(deps));
  app.use("/v1/*", apiKeyAuth(deps.resolveApiKey));
  for (const endpoint of INGEST_ENDPOINTS) app.route("/", ingestRoutes(endpoint, deps.producer, deps.config));
  app.route("/", profileRoutes({ redis: deps.redis, search: deps.search, index: profilesIndex(deps.config.INDEX_PREFIX) }));
  app.route("/", checkoutRoutes({ sql: deps.sql }));
  app.route("/", contentRoutes({ redis: deps.redis, windowMs: deps.config.CONTENT_WINDOW_MS, topN: deps.config.POPULAR_TOP_N }));
  app.route("/", userRoutes({ redis: deps.redis, search: deps.search, index: userInfoIndex(deps.config.INDEX_PREFIX) }));
  app.notFound((c) => problem(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    console.error(error);
    return problem(c, 500, "internal", "internal error");
  });
  return app;
}
