import type { Client } from "@opensearch-project/opensearch";
import { Hono } from "hono";
import * as v from "valibot";
import { Text } from "../../infra/platform/contracts/fields.ts";
import type { RedisClient } from "../../infra/platform/redis-keys.ts";
import { type UserInfoState, userInfoDocument, userInfoKey, userInfoResponseKey } from "../../workers/userinfo/view.ts";
import { type AuthEnv, requireScope } from "../http/auth.ts";
import { problem } from "../http/errors.ts";
import { validIds, validQuery } from "../http/params.ts";
import { searchPage, searchQuery } from "../http/search.ts";
import { readStoredAnswer, sendStored } from "../http/stored-answers.ts";

/** Full-text search over the user's words; only these parameters exist. */
export const UserSearch = searchQuery({ q: v.pipe(Text(256), v.trim(), v.nonEmpty("must not be empty")) });

/** The user information service (SPEC §2.2): the operator's own users, `users:read` only. */
export function userRoutes(deps: {
  redis: RedisClient;
  search: Client;
  index: string;
  partitions: number;
}): Hono<AuthEnv> {
  return new Hono<AuthEnv>()
    .get("/v1/users/:userId", requireScope("users:read"), validIds("userId"), async (c) => {
      const { userId } = c.req.valid("param");
      const stored = await readStoredAnswer(
        deps.redis,
        userInfoResponseKey(userId, { partitions: deps.partitions }),
        async () => {
          const state = await deps.redis.get(userInfoKey(userId, { partitions: deps.partitions }));
          return state === null ? null : userInfoDocument(JSON.parse(state) as UserInfoState);
        },
      );
      if (!stored) return problem(c, 404, "not_found", "no such user");
      return sendStored(c, stored);
    })
    .get("/v1/search/users", requireScope("users:read"), validQuery(UserSearch), async (c) => {
      const { q, page, size } = c.req.valid("query");
      const query = {
        query: { multi_match: { query: q, fields: ["username^3", "name^2", "bio", "location"] } },
        sort: [{ _score: "desc" }, { user_id: "asc" }],
      };
      return c.json(await searchPage(deps.search, deps.index, query, { page, size, caller: c.var.keyId }));
    });
}
