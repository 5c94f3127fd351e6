import { Hono } from "hono";
import type { Config } from "../infra/config.ts";
import { CLICKSTREAM_TOPIC, ClickstreamEvent } from "../infra/contracts/clickstream.ts";
import { CHECKOUTS_TOPIC, Checkout, Click, CLICKS_TOPIC } from "../infra/contracts/commerce.ts";
import type { Producer } from "../infra/kafka/producer.ts";
import { profilesIndex } from "../workers/profiles/profile.ts";
import { userInfoIndex } from "../workers/userinfo/userinfo.ts";
import { apiKeyAuth } from "./auth.ts";
import { problem } from "./errors.ts";
import type { Dependencies } from "./readiness.ts";
import { healthRoutes } from "./routes/health.ts";
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
  app.route(
    "/",
    ingestRoutes(
      { path: "/v1/events", topic: CLICKSTREAM_TOPIC, schema: ClickstreamEvent, key: (e) => e.user_id, partnerOf: (e) => e.partner_id },
      deps.producer,
      deps.config,
    ),
  );
  app.route("/", ingestRoutes({ path: "/v1/clicks", topic: CLICKS_TOPIC, schema: Click, key: (e) => e.user_id }, deps.producer, deps.config));
  app.route("/", ingestRoutes({ path: "/v1/checkouts", topic: CHECKOUTS_TOPIC, schema: Checkout, key: (e) => e.user_id }, deps.producer, deps.config));
  app.route("/", profileRoutes({ redis: deps.redis, search: deps.search, index: profilesIndex(deps.config.INDEX_PREFIX) }));
  app.route("/", userRoutes({ redis: deps.redis, search: deps.search, index: userInfoIndex(deps.config.INDEX_PREFIX) }));
  app.notFound((c) => problem(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    console.error(error);
    return problem(c, 500, "internal", "internal error");
  });
  return app;
}
