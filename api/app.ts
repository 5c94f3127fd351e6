import { Hono } from "hono";
import type { Config } from "../infra/platform/config.ts";
import type { Producer } from "../infra/platform/kafka/producer.ts";
import { metricsResponse } from "../infra/platform/metrics.ts";
import { profileSearchIndices } from "../workers/profiles/view.ts";
import { userInfoIndex } from "../workers/userinfo/view.ts";
import { consoleRoutes } from "./console/routes.tsx";
import { apiKeyAuth } from "./http/auth.ts";
import { lookupCaching } from "./http/caching.ts";
import { isUnavailable, problem } from "./http/errors.ts";
import { type IngestTopics, ingestEndpoints } from "./http/ingest-endpoints.ts";
import type { Resolved } from "./http/keys.ts";
import { methodsAllowed } from "./http/methods.ts";
import { requestMetrics } from "./http/metrics.ts";
import { rateLimit } from "./http/rate-limit.ts";
import { type Dependencies, registerDependencyGauge } from "./http/readiness.ts";
import { docsPage, openApiDocument } from "./openapi.ts";
import { checkoutRoutes } from "./routes/checkouts.ts";
import { contentRoutes } from "./routes/content.ts";
import { healthRoutes } from "./routes/health.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { profileRoutes } from "./routes/profiles.ts";
import { reportRoutes } from "./routes/reports.ts";
import { userRoutes } from "./routes/users.ts";

export type AppDependencies = Dependencies & {
  config: Config;
  producer: Producer;
  resolveApiKey(key: string): Promise<Resolved>;
  /** Where the ingest endpoints write (tests: topics of their own). */
  ingestTopics?: IngestTopics;
};

export function createApp(deps: AppDependencies): Hono {
  const { config } = deps;
  const app = new Hono();
  app.use("*", requestMetrics());
  // Open like /healthz, for Prometheus to scrape: counts and timings, no data of anyone's.
  registerDependencyGauge(deps);
  app.get("/metrics", () => metricsResponse());
  const openApi = openApiDocument(config);
  app.get("/openapi.json", (c) => c.json(openApi));
  app.get("/docs", (c) => c.html(docsPage(config)));
  app.route("/", healthRoutes(deps));
  app.route("/", consoleRoutes({ config, redis: deps.redis, resolveApiKey: deps.resolveApiKey }));
  app.use(
    "/v1/*",
    apiKeyAuth(deps.resolveApiKey),
    rateLimit(deps.redis, { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST }),
    lookupCaching(config.LOOKUP_CACHE_CONTROL),
  );
  for (const endpoint of ingestEndpoints(deps.ingestTopics))
    app.route("/", ingestRoutes(endpoint, deps.producer, config));
  const views = { redis: deps.redis, search: deps.search, partitions: config.TOPIC_PARTITIONS };
  app.route("/", profileRoutes({ ...views, index: profileSearchIndices(config.INDEX_PREFIX) }));
  app.route("/", checkoutRoutes({ sql: deps.sql }));
  app.route("/", reportRoutes({ sql: deps.sql }));
  app.route(
    "/",
    contentRoutes({
      redis: deps.redis,
      windowMs: config.CONTENT_WINDOW_MS,
      topN: config.POPULAR_TOP_N,
      partitions: config.TOPIC_PARTITIONS,
    }),
  );
  app.route("/", userRoutes({ ...views, index: userInfoIndex(config.INDEX_PREFIX) }));
  const allowed = methodsAllowed(app);
  app.notFound((c) => {
    const methods = allowed(c.req.path);
    if (methods.length === 0) return problem(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`);
    c.header("Allow", methods.join(", "));
    if (c.req.method === "OPTIONS") return c.body(null, 204);
    return problem(c, 405, "method_not_allowed", `${c.req.path} answers ${methods.join(", ")}, not ${c.req.method}`);
  });
  app.onError((error, c) => {
    if (isUnavailable(error)) {
      c.header("Retry-After", "1");
      return problem(c, 503, "unavailable", "a store did not answer; retry later");
    }
    console.error(error);
    return problem(c, 500, "internal", "internal error");
  });
  return app;
}
