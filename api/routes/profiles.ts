import type { Client } from "@opensearch-project/opensearch";
import { Hono } from "hono";
import type Redis from "ioredis";
import * as v from "valibot";
import { Amount, Id, Timestamp } from "../../infra/contracts/fields.ts";
import { validate } from "../../infra/contracts/validate.ts";
import { profileKey, type ProfileState } from "../../workers/profiles/profile.ts";
import type { AuthEnv } from "../auth.ts";
import { problem } from "../errors.ts";
import { PAGING, searchPage } from "../search.ts";

const SORTABLE = ["last_visit", "first_seen", "total_purchases", "events_total", "sessions"] as const;

const numberParam = v.pipe(v.string(), v.regex(/^\d+(\.\d+)?$/, "expected a non-negative number"), v.transform(Number), Amount);

/** The only query parameters search understands; anything else is a 400, never passed through. */
export const ProfileSearch = v.strictObject(
  {
    partner_id: v.optional(Id),
    country: v.optional(Id),
    language: v.optional(Id),
    category: v.optional(Id),
    last_visit_from: v.optional(Timestamp),
    last_visit_to: v.optional(Timestamp),
    total_purchases_min: v.optional(numberParam),
    total_purchases_max: v.optional(numberParam),
    sort: v.optional(v.picklist(SORTABLE, `expected one of ${SORTABLE.join(", ")}`), "last_visit"),
    order: v.optional(v.picklist(["asc", "desc"], "expected asc or desc"), "desc"),
    ...PAGING,
  },
  "unknown query parameter",
);

type Search = v.InferOutput<typeof ProfileSearch>;

/** Filters and sort in OpenSearch's query DSL, always scoped to the caller's partner. */
function profileQuery(search: Search, partnerId: string) {
  const filter: object[] = [{ term: { partners: partnerId } }];
  const exact = { partner_id: search.partner_id, country: search.country, language: search.language, recent_categories: search.category };
  for (const [field, value] of Object.entries(exact)) if (value !== undefined) filter.push({ term: { [field]: value } });
  if (search.last_visit_from || search.last_visit_to) {
    filter.push({ range: { last_visit: { ...(search.last_visit_from && { gte: search.last_visit_from }), ...(search.last_visit_to && { lte: search.last_visit_to }) } } });
  }
  if (search.total_purchases_min !== undefined || search.total_purchases_max !== undefined) {
    filter.push({
      range: {
        total_purchases: {
          ...(search.total_purchases_min !== undefined && { gte: search.total_purchases_min }),
          ...(search.total_purchases_max !== undefined && { lte: search.total_purchases_max }),
        },
      },
    });
  }
  return { query: { bool: { filter } }, sort: [{ [search.sort]: search.order }, { user_id: "asc" }] };
}

export function profileRoutes(deps: { redis: Redis; search: Client; index: string }): Hono<AuthEnv> {
  return new Hono<AuthEnv>()
    .get("/v1/profiles/:userId", async (c) => {
      const raw = await deps.redis.get(profileKey(c.req.param("userId")));
      const profile = raw ? (JSON.parse(raw) as ProfileState).profile : undefined;
      // Another partner's user is answered exactly like an unknown one.
      if (!profile || !profile.partners.includes(c.var.partnerId)) return problem(c, 404, "not_found", "no profile for this user");
      return c.json(profile);
    })
    .get("/v1/search/profiles", async (c) => {
      const parsed = validate(ProfileSearch, c.req.query());
      if (!parsed.ok) return problem(c, 400, "invalid_query", "bad search parameters", { errors: parsed.errors });
      const search = parsed.value;
      if (search.partner_id !== undefined && search.partner_id !== c.var.partnerId) {
        return problem(c, 403, "forbidden", `this API key reads partner ${c.var.partnerId}'s profiles only`);
      }
      return c.json(await searchPage(deps.search, deps.index, profileQuery(search, c.var.partnerId), search.page, search.size));
    });
}
