import { describe, expect, test } from "bun:test";
import { createApp } from "../api/app.ts";
import { closeApiDependencies, connectApiDependencies, startApi } from "../api/server.ts";
import { publishStatus } from "../workers/runtime/status.ts";
import { eventually, testConfig, unique } from "./helpers.ts";

const config = testConfig();

describe("API health", () => {
  test("GET /healthz answers and GET /readyz is ready when broker, Redis, Postgres and OpenSearch answer", async () => {
    const api = await startApi({ ...config, PORT: 18080 });
    try {
      const health = await fetch(`http://127.0.0.1:${api.port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });

      const ready = await fetch(`http://127.0.0.1:${api.port}/readyz`);
      const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(ready.status).toBe(200);
      expect(body.status).toBe("ready");
      expect(Object.keys(body.checks).sort()).toEqual(["broker", "opensearch", "postgres", "redis"]);
      for (const check of Object.values(body.checks)) expect(check.ok).toBe(true);

      // A worker process publishes its workers' states; /readyz reports them (and stays ready).
      const name = `${unique("view")}`;
      const unpublish = publishStatus(
        [{ name, stats: { state: "stopped", lag: 7, lastError: "view x: another log" }, stop: async () => {} }],
        config,
      );
      const reported = await eventually("the published state", async () => {
        const answer = (await (await fetch(`http://127.0.0.1:${api.port}/readyz`)).json()) as {
          status: string;
          views: Record<string, unknown>;
        };
        return answer.views[name] ? answer : undefined;
      });
      unpublish();
      expect(reported.status).toBe("ready");
      expect(reported.views[name]).toEqual({ state: "stopped", lag: 7, lastError: "view x: another log" });

      const missing = await fetch(`http://127.0.0.1:${api.port}/nope`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: string }).error).toBe("not_found");
    } finally {
      await api.stop();
    }
  });

  test("GET /readyz answers 503 naming the store that does not answer", async () => {
    // Nothing listens on port 1: this Redis never answers.
    const deps = await connectApiDependencies({ ...config, REDIS_URL: "redis://127.0.0.1:1/0" });
    deps.redis.on("error", () => {});
    try {
      const response = await createApp(deps).request("/readyz");
      const body = (await response.json()) as {
        status: string;
        checks: Record<string, { ok: boolean; error?: string }>;
      };
      expect(response.status).toBe(503);
      expect(body.status).toBe("not ready");
      expect(body.checks.redis?.ok).toBe(false);
      expect(body.checks.redis?.error).toBeTruthy();
      expect(body.checks.broker?.ok).toBe(true);
      expect(body.checks.postgres?.ok).toBe(true);
      expect(body.checks.opensearch?.ok).toBe(true);
    } finally {
      await closeApiDependencies(deps);
    }
  });
});
