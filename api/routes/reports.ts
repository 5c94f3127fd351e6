import { Hono } from "hono";
import type { Sql } from "postgres";
import * as v from "valibot";
import { dailyReport, NoWarehouseData } from "../../db/report.ts";
import { Day } from "../../infra/platform/contracts/fields.ts";
import { type AuthEnv, requireScope } from "../http/auth.ts";
import { problem } from "../http/errors.ts";
import { validQuery } from "../http/params.ts";

/** GET /v1/reports/daily: a day, a range (`from`, `to`, both inclusive), or every day the warehouse holds. */
export const DailyReportQuery = v.pipe(
  v.strictObject({ day: v.optional(Day), from: v.optional(Day), to: v.optional(Day) }, "unknown query parameter"),
  v.forward(
    v.check((q) => q.day === undefined || (q.from === undefined && q.to === undefined), "day or from/to, not both"),
    ["day"],
  ),
);

/** The caller's partner's daily report (SPEC §2.7), from the warehouse: `profiles:read`, its own partner only. */
export function reportRoutes(deps: { sql: Sql }): Hono<AuthEnv> {
  return new Hono<AuthEnv>().get(
    "/v1/reports/daily",
    requireScope("profiles:read"),
    validQuery(DailyReportQuery),
    async (c) => {
      const { day, from, to } = c.req.valid("query");
      try {
        const rows = await dailyReport(deps.sql, { from: day ?? from, to: day ?? to, partner: c.var.partnerId });
        return c.json({
          partner_id: c.var.partnerId,
          days: rows.map(({ partner_id: _, ...row }) => row),
        });
      } catch (error) {
        if (error instanceof NoWarehouseData) return problem(c, 404, "not_found", error.message);
        throw error;
      }
    },
  );
}
