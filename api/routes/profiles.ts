import type { Client } from "@opensearch-project/opensearch";
import { Hono } from "hono";
import * as v from "valibot";
import { Amount, Id, QueryTime } from "../../infra/platform/contracts/fields.ts";
import { IDENTIFIER_TYPES, type Identifier, type IdentityNode } from "../../infra/platform/contracts/identity.ts";
import type { RedisClient } from "../../infra/platform/redis-keys.ts";
import { identitiesOf, identityNodeKey } from "../../workers/identities/view.ts";
import {
  isProfileIdType,
  type ProfileState,
  personResponseKey,
  profileAnswer,
  profileKey,
  profileResponseKey,
} from "../../workers/profiles/view.ts";
import { type AuthEnv, requireScope } from "../http/auth.ts";
import { problem } from "../http/errors.ts";
import { validIdentifier, validQuery } from "../http/params.ts";
import { searchPage, searchQuery } from "../http/search.ts";
import { readStoredAnswer, renderAnswer, sendStored } from "../http/stored-answers.ts";

const SORTABLE = ["last_visit", "first_seen", "total_purchases", "events_total", "sessions"] as const;

const numberParam = v.pipe(
  v.string(),
  v.regex(/^\d{1,12}(\.\d{1,6})?$/, "expected a non-negative number"),
  v.transform(Number),
  Amount,
);

/** Which identifier the path's id is (SPEC §2.7); a user_id unless said. What the API document shows; validIdentifier checks it. */
export const IdentityLookup = v.object({
  id_type: v.optional(v.picklist(IDENTIFIER_TYPES, `expected one of ${IDENTIFIER_TYPES.join(", ")}`), "user_id"),
});

type Views = { redis: RedisClient; partitions: number };

/**
 * The profile a lookup by any identifier answers: its own while it stands
 * alone (most do: one read of its stored answer), else its person's (it
 * has no stored answer once linked: its node names the person), else its
 * own rendered from its state (linked before the person's profile was
 * written, or folded before answers were stored).
 */
async function lookUpProfile({ redis, partitions }: Views, partnerId: string, identifier: Identifier) {
  const at = { partitions };
  const { type, value } = identifier;
  const profileType = isProfileIdType(type) ? type : undefined;
  if (profileType) {
    const own = await readStoredAnswer(redis, profileResponseKey(partnerId, value, at, profileType), async () => null);
    if (own) return own;
  }
  const [node, state] = await Promise.all([
    redis.get(identityNodeKey(partnerId, identifier, at)),
    profileType ? redis.get(profileKey(partnerId, value, at, profileType)) : null,
  ]);
  if (node !== null) {
    const { canonical } = JSON.parse(node) as IdentityNode;
    const person = await readStoredAnswer(redis, personResponseKey(partnerId, canonical, at), async () => null);
    if (person) return person;
  }
  const own = state === null ? null : profileAnswer(JSON.parse(state) as ProfileState);
  return own === null ? null : renderAnswer(own);
}

/** The only query parameters search understands; anything else is a 400, never passed through. */
export const ProfileSearch = searchQuery({
  partner_id: v.optional(Id),
  country: v.optional(Id),
  language: v.optional(Id),
  category: v.optional(Id),
  last_visit_from: v.optional(QueryTime),
  last_visit_to: v.optional(QueryTime),
  total_purchases_min: v.optional(numberParam),
  total_purchases_max: v.optional(numberParam),
  sort: v.optional(v.picklist(SORTABLE, `expected one of ${SORTABLE.join(", ")}`), "last_visit"),
  order: v.optional(v.picklist(["asc", "desc"], "expected asc or desc"), "desc"),
});

type Search = v.InferOutput<typeof ProfileSearch>;

/** Filters and sort in OpenSearch's query DSL, always scoped to the caller's partner. */
function profileQuery(search: Search, partnerId: string) {
  const filter: object[] = [{ term: { partner_id: partnerId } }];
  const exact = { country: search.country, language: search.language, recent_categories: search.category };
  for (const [field, value] of Object.entries(exact))
    if (value !== undefined) filter.push({ term: { [field]: value } });
  if (search.last_visit_from || search.last_visit_to) {
    filter.push({
      range: {
        last_visit: {
          ...(search.last_visit_from && { gte: search.last_visit_from }),
          ...(search.last_visit_to && { lte: search.last_visit_to }),
        },
      },
    });
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

/** A partner's profiles (SPEC §3.8): a key reads, by id or by search, only the profiles its own partner's events built. */
export function profileRoutes(deps: {
  redis: RedisClient;
  search: Client;
  index: string;
  partitions: number;
}): Hono<AuthEnv> {
  return new Hono<AuthEnv>()
    .get("/v1/profiles/:userId", requireScope("profiles:read"), validIdentifier("userId"), async (c) => {
      const identifier = c.req.valid("param");
      const stored = await lookUpProfile(deps, c.var.partnerId, identifier);
      if (!stored) return problem(c, 404, "not_found", `no profile for this ${identifier.type}`);
      return sendStored(c, stored);
    })
    .get("/v1/profiles/:userId/identities", requireScope("profiles:read"), validIdentifier("userId"), async (c) => {
      const identifier = c.req.valid("param");
      const at = { partitions: deps.partitions };
      const node = await deps.redis.get(identityNodeKey(c.var.partnerId, identifier, at));
      if (node === null) {
        // Never linked: a group of one, if the partner has seen it at all.
        const seen =
          isProfileIdType(identifier.type) &&
          (await deps.redis.exists(profileKey(c.var.partnerId, identifier.value, at, identifier.type))) === 1;
        if (!seen) return problem(c, 404, "not_found", `no identity for this ${identifier.type}`);
      }
      return c.json(identitiesOf(identifier, node === null ? undefined : (JSON.parse(node) as IdentityNode)));
    })
    .get("/v1/search/profiles", requireScope("profiles:read"), validQuery(ProfileSearch), async (c) => {
      const search = c.req.valid("query");
      if (search.partner_id !== undefined && search.partner_id !== c.var.partnerId) {
        return problem(c, 403, "forbidden", `this API key reads partner ${c.var.partnerId}'s profiles only`);
      }
      return c.json(
        await searchPage(deps.search, deps.index, profileQuery(search, c.var.partnerId), {
          page: search.page,
          size: search.size,
          caller: c.var.keyId,
        }),
      );
    });
}
