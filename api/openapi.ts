import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import type { Config } from "../infra/platform/config.ts";
import { ingestEndpoints } from "./http/ingest-endpoints.ts";
import type { Scope } from "./http/scopes.ts";
import { AttributedQuery } from "./routes/checkouts.ts";
import { popularQuery } from "./routes/content.ts";
import { IdentityLookup, ProfileSearch } from "./routes/profiles.ts";
import { DailyReportQuery } from "./routes/reports.ts";
import { UserSearch } from "./routes/users.ts";

/**
 * The OpenAPI 3.1 description of the API, made from the same valibot
 * schemas the routes validate with (JSON Schema cannot say everything they
 * check: no NUL, a time within the clock skew; those checks are left out of
 * the document and still applied). Served at /openapi.json; /docs lists it.
 */
export type Operation = {
  method: "get" | "post";
  /** Hono's form: `/v1/profiles/:userId`. */
  path: string;
  summary: string;
  scope?: Scope;
  /** Path parameters that are ids. */
  ids?: string[];
  query?: v.GenericSchema;
  body?: v.GenericSchema;
  /** A request body that passes `body`: the document's example. */
  example?: unknown;
  responses: Record<string, string>;
};

const jsonSchema = (schema: v.GenericSchema) =>
  toJsonSchema(schema, { errorMode: "ignore" }) as Record<string, unknown>;

const exampleEvents: Record<string, unknown> = {
  "/v1/events": {
    event_id: "e-1",
    type: "page_view",
    user_id: "u-1",
    partner_id: "shop-a",
    occurred_at: "2026-01-15T10:00:00.000Z",
  },
  "/v1/clicks": { click_id: "c-1", user_id: "u-1", product_id: "p-1", occurred_at: "2026-01-15T10:00:00.000Z" },
  "/v1/checkouts": {
    checkout_id: "k-1",
    user_id: "u-1",
    product_id: "p-1",
    total_amount: 42.5,
    occurred_at: "2026-01-15T10:05:00.000Z",
    payment_method: "card",
  },
  "/v1/beacons": { user_id: "u-1", occurred_at: "2026-01-15T10:00:00.000Z" },
  "/v1/interactions": { user_id: "u-1", content_id: "a-1", action: "opened", occurred_at: "2026-01-15T10:00:00.000Z" },
};

/** Every operation the app serves. */
export function operations(config: Config): Operation[] {
  const read = {
    "200": "found",
    "400": "a bad id",
    "401": "no or an unknown key",
    "403": "the key lacks the scope",
    "404": "not found",
  };
  const search = {
    "200": "a page of results",
    "400": "a bad query parameter",
    "401": "no or an unknown key",
    "403": "the key lacks the scope",
  };
  return [
    { method: "get", path: "/healthz", summary: "the process is up", responses: { "200": "up" } },
    {
      method: "get",
      path: "/readyz",
      summary: "the stores and the broker answer; each view's state",
      responses: { "200": "ready", "503": "a dependency is down" },
    },
    {
      method: "get",
      path: "/metrics",
      summary: "Prometheus metrics of this process",
      responses: { "200": "text exposition format" },
    },
    { method: "get", path: "/openapi.json", summary: "this document", responses: { "200": "OpenAPI 3.1" } },
    { method: "get", path: "/docs", summary: "this document as a page", responses: { "200": "HTML" } },
    ...ingestEndpoints().map(
      (e): Operation => ({
        method: "post",
        path: e.path,
        summary: `ingest one event or a batch (at most INGEST_MAX_BATCH=${config.INGEST_MAX_BATCH}) to ${e.topic}`,
        scope: e.scope,
        body: v.union([e.schema, v.array(e.schema)]),
        example: [exampleEvents[e.path]],
        responses: {
          "202": "acknowledged by the broker (acks=all)",
          "400": "an item breaks the contract: index and field named",
          "401": "no or an unknown key",
          "403": "the key lacks the scope, or an event claims another partner",
          "413": "over INGEST_MAX_BODY_BYTES or INGEST_MAX_BATCH",
          "429": "over the key's rate limit",
          "503": "the broker did not acknowledge in time; nothing was accepted",
        },
      }),
    ),
    {
      method: "get",
      path: "/v1/profiles/:userId",
      summary:
        "the caller's partner's profile of a user, or of any identifier (`id_type`): the person's, merged, once identifiers are linked",
      scope: "profiles:read",
      ids: ["userId"],
      query: IdentityLookup,
      responses: read,
    },
    {
      method: "get",
      path: "/v1/profiles/:userId/identities",
      summary: "the identifiers linked with this one (`id_type`, default user_id) and the person's canonical id",
      scope: "profiles:read",
      ids: ["userId"],
      query: IdentityLookup,
      responses: read,
    },
    {
      method: "get",
      path: "/v1/search/profiles",
      summary: "search the caller's partner's profiles",
      scope: "profiles:read",
      query: ProfileSearch,
      responses: search,
    },
    {
      method: "get",
      path: "/v1/reports/daily",
      summary:
        "the caller's partner's sessions, users (people: linked identifiers once), new users, purchases and revenue per day, from the warehouse",
      scope: "profiles:read",
      query: DailyReportQuery,
      responses: {
        ...search,
        "200": "the days asked for (every day the warehouse holds by default)",
        "404": "the export job has not run yet",
      },
    },
    {
      method: "get",
      path: "/v1/checkouts/attributed",
      summary: "attributed checkouts, newest first",
      scope: "checkouts:read",
      query: AttributedQuery,
      responses: search,
    },
    {
      method: "get",
      path: "/v1/content/popular",
      summary: "a window's most opened content",
      scope: "content:read",
      query: popularQuery(config.CONTENT_WINDOW_MS, config.POPULAR_TOP_N),
      responses: { ...search, "404": "no window closed yet" },
    },
    {
      method: "get",
      path: "/v1/users/:userId/activity",
      summary: "a user's opens per window",
      scope: "content:read",
      ids: ["userId"],
      responses: read,
    },
    {
      method: "get",
      path: "/v1/users/:userId",
      summary: "a user's information and counts",
      scope: "users:read",
      ids: ["userId"],
      responses: read,
    },
    {
      method: "get",
      path: "/v1/search/users",
      summary: "full-text search over users",
      scope: "users:read",
      query: UserSearch,
      responses: search,
    },
  ];
}

const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

function parameters(op: Operation): object[] {
  const ids = (op.ids ?? []).map((name) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string", minLength: 1, maxLength: 128 },
  }));
  if (!op.query) return ids;
  const query = jsonSchema(op.query) as { properties?: Record<string, object>; required?: string[] };
  return [
    ...ids,
    ...Object.entries(query.properties ?? {}).map(([name, schema]) => ({
      name,
      in: "query",
      required: (query.required ?? []).includes(name),
      schema,
    })),
  ];
}

export function openApiDocument(config: Config): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const op of operations(config)) {
    (paths[openApiPath(op.path)] ??= {})[op.method] = {
      summary: op.summary,
      ...(op.scope && {
        security: [{ apiKey: [] }],
        "x-scope": op.scope,
        description: `Needs an API key with the ${op.scope} scope.`,
      }),
      parameters: parameters(op),
      ...(op.body && {
        requestBody: {
          required: true,
          content: { "application/json": { schema: jsonSchema(op.body), example: op.example } },
        },
      }),
      responses: Object.fromEntries(
        Object.entries(op.responses).map(([status, description]) => [status, { description }]),
      ),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Real-time customer data platform",
      version: "0.1.0",
      description: "Ingest events; read profiles, user information, attributed checkouts and content windows.",
    },
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "`bun run apikey create --partner ID --scopes ...`" },
      },
    },
    paths,
  };
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** The document as a page, made here (no script or style from elsewhere). */
export function docsPage(config: Config): string {
  const rows = operations(config)
    .map(
      (op) =>
        `<tr><td><code>${op.method.toUpperCase()}</code></td><td><code>${escapeHtml(op.path)}</code></td><td>${escapeHtml(op.summary)}</td><td>${op.scope ? `<code>${op.scope}</code>` : ""}</td><td>${Object.keys(op.responses).join(" ")}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>API</title><style>body{font:14px system-ui;margin:2em}td,th{padding:4px 10px;text-align:left;border-bottom:1px solid #ddd}</style></head>
<body><h1>Real-time customer data platform API</h1><p>The machine-readable form: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<table><tr><th>method</th><th>path</th><th>what</th><th>scope</th><th>answers</th></tr>
${rows}
</table></body></html>`;
}
