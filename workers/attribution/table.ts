import type { Sql, TransactionSql } from "postgres";
import type { Attribution } from "../../infra/platform/contracts/commerce.ts";
import type { Change, Folded } from "../runtime/worker.ts";

/** What a row of attributed_checkouts holds that decides whether an attribution improves it. */
export type RowClick = { click: { id: string; at: number } | null };

const clickOf = (attribution: Attribution): RowClick["click"] =>
  attribution.click && { id: attribution.click.click_id, at: Date.parse(attribution.click.occurred_at) };

/**
 * A checkout's row keeps the earliest click it was ever attributed to (the
 * smaller click_id on a tie): attributions only improve, so a replayed or
 * reordered one never regresses a row.
 */
export function keepEarliestClick(row: RowClick | undefined, attribution: Attribution): Folded<RowClick> {
  const click = clickOf(attribution);
  if (row === undefined) return { state: { click } };
  if (click === null) return { state: row };
  const current = row.click;
  const improves = current === null || click.at < current.at || (click.at === current.at && click.id < current.id);
  return { state: improves ? { click } : row };
}

export async function loadRowClicks(sql: Sql, checkoutIds: readonly string[]): Promise<Map<string, RowClick>> {
  const rows = await sql<{ checkout_id: string; click_id: string | null; clicked_ms: number | null }[]>`
    select checkout_id, click_id, (extract(epoch from clicked_at) * 1000)::float8 as clicked_ms
    from attributed_checkouts where checkout_id = any(${checkoutIds as string[]})`;
  return new Map(
    rows.map((r) => [
      r.checkout_id,
      { click: r.click_id === null ? null : { id: r.click_id, at: Math.round(r.clicked_ms!) } },
    ]),
  );
}

/**
 * Upsert the changed rows, each with the user as of the checkout's time: the
 * users_history version whose [valid_from, valid_to) holds it (none: the
 * user was unknown then, and the user columns stay null).
 */
export async function writeAttributedCheckouts(
  tx: TransactionSql,
  changes: readonly Change<RowClick, Attribution>[],
): Promise<void> {
  const rows = changes.map(({ event: { checkout, click } }) => ({
    ...checkout,
    click_id: click?.click_id ?? null,
    clicked_at: click?.occurred_at ?? null,
    click_url: click?.url ?? null,
  }));
  await tx`
    insert into attributed_checkouts (
      checkout_id, user_id, product_id, total_amount, occurred_at, payment_method, shipping_address, billing_address, user_agent, ip_address,
      click_id, clicked_at, click_url, username, user_name, user_email, user_region, user_gender, user_version, updated_at)
    select r.checkout_id, r.user_id, r.product_id, r.total_amount, r.occurred_at, r.payment_method, r.shipping_address, r.billing_address, r.user_agent, r.ip_address,
      r.click_id, r.clicked_at, r.click_url, h.username, h.name, h.email, h.region, h.gender, h.valid_from, now()
    from jsonb_to_recordset(${tx.json(rows as never)}) as r(
      checkout_id text, user_id text, product_id text, total_amount numeric, occurred_at timestamptz, payment_method text, shipping_address text,
      billing_address text, user_agent text, ip_address text, click_id text, clicked_at timestamptz, click_url text)
    left join lateral (
      select * from users_history h
      where h.user_id = r.user_id and h.valid_from <= r.occurred_at and (h.valid_to is null or h.valid_to > r.occurred_at)
      order by h.valid_from desc limit 1
    ) h on true
    on conflict (checkout_id) do update set
      click_id = excluded.click_id, clicked_at = excluded.clicked_at, click_url = excluded.click_url,
      username = excluded.username, user_name = excluded.user_name, user_email = excluded.user_email,
      user_region = excluded.user_region, user_gender = excluded.user_gender, user_version = excluded.user_version, updated_at = now()`;
}
