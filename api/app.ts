import { Hono } from "hono";
import type { Dependencies } from "./readiness.ts";
import { healthRoutes } from "./routes/health.ts";

export function createApp(deps: Dependencies): Hono {
  const app = new Hono();
  app.route("/", healthRoutes(deps));
  app.notFound((c) => c.json({ error: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    console.error(error);
    return c.json({ error: "internal", message: "internal error" }, 500);
  });
  return app;
}
