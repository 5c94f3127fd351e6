import { afterAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { createApp } from "../api/app.ts";
import { operations } from "../api/openapi.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { testConfig } from "./helpers.ts";

/** /openapi.json describes every route the app serves, from the schemas the routes validate with. */
const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
afterAll(() => closeApiDependencies(deps));

type Document = {
  openapi: string;
  paths: Record<string, Record<string, { parameters: { name: string; in: string }[]; requestBody?: unknown }>>;
};

describe("/openapi.json", () => {
  test("every route of the app is in the document, with its method, and nothing else is", async () => {
    const doc = (await (await app.request("/openapi.json")).json()) as Document;
    expect(doc.openapi).toBe("3.1.0");
    const served = new Set(
      app.routes
        // The console is pages for people (docs/operability.md), not the API.
        .filter((r) => r.method !== "ALL" && !r.path.includes("*") && !r.path.startsWith("/console"))
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect(served.size).toBeGreaterThan(15);
    expect([...served].sort()).toEqual([...documented].sort());
    console.log(`openapi: ${documented.size} operations on ${Object.keys(doc.paths).length} paths`);
  });

  test("query parameters and bodies come from the route's schemas; every example passes its schema", async () => {
    const doc = (await (await app.request("/openapi.json")).json()) as Document;
    expect(doc.paths["/v1/search/profiles"]!.get!.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(["country", "total_purchases_min", "page", "size"]),
    );
    expect(doc.paths["/v1/profiles/{userId}"]!.get!.parameters).toEqual([
      expect.objectContaining({ name: "userId", in: "path" }),
      expect.objectContaining({
        name: "id_type",
        in: "query",
        schema: expect.objectContaining({ default: "user_id" }),
      }),
    ]);
    const withBodies = operations(config).filter((op) => op.body);
    expect(withBodies.length).toBe(5);
    for (const op of withBodies) {
      expect(doc.paths[op.path]!.post!.requestBody).toBeDefined();
      const checked = v.safeParse(op.body!, op.example);
      expect({ path: op.path, issues: checked.issues?.map((i) => i.message) }).toEqual({
        path: op.path,
        issues: undefined,
      });
    }
  });

  test("/docs lists every operation on a page of its own making", async () => {
    const page = await (await app.request("/docs")).text();
    for (const op of operations(config)) expect(page).toContain(`<code>${op.path}</code>`);
    expect(page).not.toMatch(/<script|https?:\/\/(?!127)/);
  });
});
