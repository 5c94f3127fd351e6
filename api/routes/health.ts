import { Hono } from "hono";
import { checkDependencies, type Dependencies, viewStates } from "../http/readiness.ts";

export function healthRoutes(deps: Dependencies): Hono {
  return new Hono()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      const checks = await checkDependencies(deps);
      const ready = Object.values(checks).every((check) => check.ok);
      // Reported, not required: the API serves (and ingests) while a view restores or stops; the answer says which.
      const workers: Awaited<ReturnType<typeof viewStates>> = checks.redis!.ok
        ? await viewStates(deps.redis).catch(() => ({}))
        : {};
      const views = Object.fromEntries(
        Object.entries(workers).map(([name, s]) => [
          name,
          { state: s.state ?? "running", lag: s.lag, lastError: s.lastError ?? null },
        ]),
      );
      return c.json({ status: ready ? "ready" : "not ready", checks, views }, ready ? 200 : 503);
    });
}
