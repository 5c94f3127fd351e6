import { Hono } from "hono";
import type { Sql } from "postgres";
import * as v from "valibot";
import { Id, QueryTime } from "../../infra/platform/contracts/fields.ts";
import { type AuthEnv, requireScope } from "../http/auth.ts";
import { integerParam, validQuery } from "../http/params.ts";

/** A page position: the (occurred_at, checkout_id) of the last row of the previous page. */
type Cursor = { at: string; id: string };
const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString("base64url");
const decodeCursor = (text: string): Cursor | undefined => {
  try {
    const cursor = JSON.parse(Buffer.from(text, "base64url").toString()) as Cursor;
    return v.is(QueryTime, cursor.at) && v.is(Id, cursor.id) ? cursor : undefined;
  } catch {
    return undefined;
  }
};

/** Filters of GET /v1/checkouts/attributed; only these parameters exist. */
export const AttributedQuery = v.strictObject(
  {
    user_id: v.optional(Id),
    product_id: v.optional(Id),
    /** Checkout time range, from inclusive, to exclusive. */
    from: v.optional(QueryTime),
    to: v.optional(QueryTime),
    attributed: v.optional(v.picklist(["true", "false"], "expected true or false")),
    size: integerParam(1, 500, 50),
    cursor: v.optional(
      v.pipe(
        v.string(),
        v.check((text) => decodeCursor(text) !== undefined, "not a cursor this endpoint gave out"),
      ),
    ),
  },
  "unknown query parameter",
);

type Row = Record<string, unknown> & { occurred_at: string; checkout_id: string };

// Times as ISO-8601 text made by Postgres, whatever parsers the connection has.
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/**
 * Attributed checkouts, newest first, filtered and paged by cursor (stable
 * while rows are added). They hold personal data: `checkouts:read` only.
 */
export function checkoutRoutes(deps: { sql: Sql }): Hono<AuthEnv> {
  return new Hono<AuthEnv>().get(
    "/v1/checkouts/attributed",
    requireScope("checkouts:read"),
    validQuery(AttributedQuery),
    async (c) => {
      const q = c.req.valid("query");
      const { sql } = deps;
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor)!;
      const rows = await sql<Row[]>`
      select checkout_id, user_id, product_id, total_amount::float8 as total_amount,
        to_char(occurred_at at time zone 'UTC', ${sql.unsafe(ISO)}) as occurred_at, payment_method, shipping_address, billing_address,
        user_agent, ip_address, click_id, to_char(clicked_at at time zone 'UTC', ${sql.unsafe(ISO)}) as clicked_at, click_url,
        username, user_name, user_email, user_region, user_gender, to_char(user_version at time zone 'UTC', ${sql.unsafe(ISO)}) as user_version
      from attributed_checkouts
      where true
        ${q.user_id === undefined ? sql`` : sql`and user_id = ${q.user_id}`}
        ${q.product_id === undefined ? sql`` : sql`and product_id = ${q.product_id}`}
        ${q.from === undefined ? sql`` : sql`and occurred_at >= ${q.from}`}
        ${q.to === undefined ? sql`` : sql`and occurred_at < ${q.to}`}
        ${q.attributed === undefined ? sql`` : q.attributed === "true" ? sql`and click_id is not null` : sql`and click_id is null`}
        ${after === undefined ? sql`` : sql`and (occurred_at, checkout_id) < (${after.at}::timestamptz, ${after.id})`}
      order by occurred_at desc, checkout_id desc
      limit ${q.size}`;
      const last = rows.length === q.size ? rows[rows.length - 1] : undefined;
      return c.json({
        results: rows,
        size: q.size,
        next_cursor: last ? encodeCursor({ at: last.occurred_at, id: last.checkout_id }) : null,
      });
    },
  );
}
