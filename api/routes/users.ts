import type { Client } from "@opensearch-project/opensearch";
import { Hono } from "hono";
import type Redis from "ioredis";
import * as v from "valibot";
import { Id } from "../../infra/contracts/fields.ts";
import { validate } from "../../infra/contracts/validate.ts";
import { userInfoDocument, userInfoKey, type UserInfoState } from "../../workers/userinfo/userinfo.ts";
import type { AuthEnv } from "../auth.ts";
import { problem } from "../errors.ts";
import { PAGING, searchPage } from "../search.ts";

/** Full-text search over the user's words; only these parameters exist. */
export const UserSearch = v.strictObject(
  {
    q: v.pipe(v.string("expected a search text"), v.trim(), v.nonEmpty("must not be empty"), v.maxLength(256, "must be at most 256 characters")),
    ...PAGING,
  },
  "unknown query parameter",
);

export function userRoutes(deps: { redis: Redis; search: Client; index: string }): Hono<AuthEnv> {
  return new Hono<AuthEnv>()
    .get("/v1/users/:userId", async (c) => {
      const userId = c.req.param("userId");
      if (!v.is(Id, userId)) return problem(c, 400, "invalid_id", "a user id is 1 to 128 characters");
      const raw = await deps.redis.get(userInfoKey(userId));
      const document = raw ? userInfoDocument(JSON.parse(raw) as UserInfoState) : null;
      if (!document) return problem(c, 404, "not_found", "no such user");
      return c.json(document);
    })
    .get("/v1/search/users", async (c) => {
      const parsed = validate(UserSearch, c.req.query());
      if (!parsed.ok) return problem(c, 400, "invalid_query", "bad search parameters", { errors: parsed.errors });
      const { q, page, size } = parsed.value;
      const query = { query: { multi_match: { query: q, fields: ["username^3", "name^2", "bio", "location"] } }, sort: [{ _score: "desc" }, { user_id: "asc" }] };
      return c.json(await searchPage(deps.search, deps.index, query, page, size));
    });
}
