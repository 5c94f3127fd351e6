import type { Sql } from "postgres";

/** One partner's day in the daily report (SPEC §2.7). */
export type DailyRow = {
  partner_id: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  sessions: number;
  /** People, not identifiers: linked identifiers count once (warehouse.identities). */
  users: number;
  /** People whose first event the warehouse holds is on this day. */
  new_users: number;
  purchases: number;
  revenue: number;
};

export type ReportQuery = { from?: string; to?: string; partner?: string };

/** The warehouse has no clickstream table until the export job first ran. */
export class NoWarehouseData extends Error {
  override name = "NoWarehouseData";
}

/**
 * Sessions, users, new users, purchases and revenue per partner per day,
 * from the warehouse's clickstream rows (each event once: an event re-sent
 * is loaded twice) and the identity table (an event counts for the person
 * its identifier belongs to, or for the identifier alone). "New" is
 * relative to what the warehouse still holds (EXPORT_RETENTION_DAYS).
 */
export async function dailyReport(sql: Sql, { from, to, partner }: ReportQuery = {}): Promise<DailyRow[]> {
  const [table] = await sql`select to_regclass('warehouse.clickstream_events') as name`;
  if (!table?.name) throw new NoWarehouseData("no clickstream rows in the warehouse yet: run `bun run export` first");
  const rows = await sql<(Omit<DailyRow, "revenue"> & { revenue: string })[]>`
    with events as (
      select distinct on (e.partner_id, e.event_id)
        e.partner_id, (e.occurred_at at time zone 'UTC')::date as day, e.type, e.cart_amount, e.session_id,
        coalesce(
          i.canonical_type || ':' || i.canonical_value,
          case when e.user_id is not null then 'user_id:' || e.user_id else 'anonymous_id:' || e.anonymous_id end
        ) as person
      from warehouse.clickstream_events e
      left join warehouse.identities i
        on i.partner_id = e.partner_id
        and i.identifier_type = case when e.user_id is not null then 'user_id' else 'anonymous_id' end
        and i.identifier_value = coalesce(e.user_id, e.anonymous_id)
      where ${partner ?? null}::text is null or e.partner_id = ${partner ?? null}
      order by e.partner_id, e.event_id, e._partition, e._offset
    ),
    firsts as (select partner_id, person, min(day) as first_day from events group by partner_id, person)
    select ev.partner_id, ev.day::text as day,
      count(distinct ev.session_id)::int as sessions,
      count(distinct ev.person)::int as users,
      count(distinct ev.person) filter (where f.first_day = ev.day)::int as new_users,
      count(*) filter (where ev.type = 'purchase')::int as purchases,
      coalesce(sum(ev.cart_amount) filter (where ev.type = 'purchase'), 0)::text as revenue
    from events ev join firsts f using (partner_id, person)
    where (${from ?? null}::date is null or ev.day >= ${from ?? null}::date)
      and (${to ?? null}::date is null or ev.day <= ${to ?? null}::date)
    group by ev.partner_id, ev.day
    order by ev.day, ev.partner_id`;
  return rows.map((r) => ({ ...r, revenue: Number(r.revenue) }));
}
