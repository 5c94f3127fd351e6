import type { Client } from "@opensearch-project/opensearch";
import { Hono } from "hono";
import type Redis from "ioredis";
import * as v from "valibot";
import { Text } from "../../infra/platform/contracts/fields.ts";
import { userInfoDocument, userInfoKey, type UserInfoState } from "../../workers/userinfo/view.ts";
import { requireScope, type AuthEnv } from "../http/auth.ts";
import { problem } from "../http/errors.ts";
import { parseId, parseQuery } from "../http/params.ts";
import { searchPage, searchQuery } from "../http/search.ts";

/** Full-text search over the user's words; only these parameters exist. */
export const UserSearch = searchQuery({ q: v.pipe(Text(256), v.trim(), v.nonEmpty("must not be empty")) });

/** The user information service (SPEC §2.2): the operator's own users, `users:read` only. */
export function userRoutes(deps: { redis: Redis; search: Client; index: string }): Hono<AuthEnv> {
  return new Hono<AuthEnv>()
    .get("/v1/users/:userId", requireScope("users:read"), async (c) => {
      const id = parseId(c, "userId");
      if (!id.ok) return id.response;
      const raw = await deps.redis.get(userInfoKey(id.value));
      const document = raw ? userInfoDocument(JSON.parse(raw) as UserInfoState) : null;
      if (!document) return problem(c, 404, "not_found", "no such user");
      return c.json(document);
    })
    .get("/v1/search/users", requireScope("users:read"), async (c) => {
      const parsed = parseQuery(c, UserSearch);
      if (!parsed.ok) return parsed.response;
      const { q, page, size } = parsed.value;
      const query = { query: { multi_match: { query: q, fields: ["username^3", "name^2", "bio", "location"] } }, sort: [{ _score: "desc" }, { user_id: "asc" }] };
      return c.json(await searchPage(deps.search, deps.index, query, page, size));
    });
}
