import type { Sql, TransactionSql } from "postgres";
import type { IdentityChange } from "../../infra/platform/contracts/identity.ts";
import { keyOf } from "../../infra/platform/redis-keys.ts";
import type { Change, Folded } from "../runtime/worker.ts";

/** What a row of warehouse.identities holds that decides whether a change is newer. */
export type IdentityRow = { groupSize: number };

/** The row's key: partner, identifier type and value. */
export const identityRowKey = (change: Pick<IdentityChange, "partner_id" | "identifier">) =>
  keyOf(change.partner_id, change.identifier.type, change.identifier.value);

/** Groups only grow: a change naming more identifiers than the row's is newer; any other is a replay. */
export const keepLargestGroup = (row: IdentityRow | undefined, change: IdentityChange): Folded<IdentityRow> =>
  row !== undefined && row.groupSize >= change.members.length
    ? { state: row }
    : { state: { groupSize: change.members.length } };

/** A row key back as its ids (keyOf percent-encodes each, so ':' only separates them). */
const idsOf = (key: string) => {
  const [p, t, v] = key.split(":").map(decodeURIComponent);
  return { p, t, v };
};

export async function loadIdentityRows(sql: Sql, keys: readonly string[]): Promise<Map<string, IdentityRow>> {
  const rows = await sql<
    { partner_id: string; identifier_type: string; identifier_value: string; group_size: number }[]
  >`
    select partner_id, identifier_type, identifier_value, group_size from warehouse.identities
    where (partner_id, identifier_type, identifier_value) in (
      select p, t, v from jsonb_to_recordset(${sql.json(keys.map(idsOf) as never)}) as k(p text, t text, v text)
    )`;
  return new Map(
    rows.map((r) => [keyOf(r.partner_id, r.identifier_type, r.identifier_value), { groupSize: r.group_size }]),
  );
}

export async function writeIdentityRows(
  tx: TransactionSql,
  changes: readonly Change<IdentityRow, IdentityChange>[],
): Promise<void> {
  const rows = changes.map(({ event }) => ({
    partner_id: event.partner_id,
    identifier_type: event.identifier.type,
    identifier_value: event.identifier.value,
    canonical_type: event.canonical.type,
    canonical_value: event.canonical.value,
    group_size: event.members.length,
  }));
  await tx`
    insert into warehouse.identities (partner_id, identifier_type, identifier_value, canonical_type, canonical_value, group_size, updated_at)
    select r.partner_id, r.identifier_type, r.identifier_value, r.canonical_type, r.canonical_value, r.group_size, now()
    from jsonb_to_recordset(${tx.json(rows as never)}) as r(
      partner_id text, identifier_type text, identifier_value text, canonical_type text, canonical_value text, group_size int)
    on conflict (partner_id, identifier_type, identifier_value) do update set
      canonical_type = excluded.canonical_type, canonical_value = excluded.canonical_value,
      group_size = excluded.group_size, updated_at = now()`;
}
