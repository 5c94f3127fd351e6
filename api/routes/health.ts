import { Hono } from "hono";
import { checkDependencies, type Dependencies } from "../readiness.ts";

export function healthRoutes(deps: Dependencies): Hono {
  return new Hono()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      const checks = await checkDependencies(deps);
      const ready = Object.values(checks).every((check) => check.ok);
      return c.json({ status: ready ? "ready" : "not ready", checks }, ready ? 200 : 503);
    });
}
