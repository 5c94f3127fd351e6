import type { Sql } from "postgres";
import { dayPartition, qualified, type WarehouseTable } from "./tables.ts";

/** Day partitions made one at a time (chunks load in parallel), each in its own transaction. */
export type DayPartitions = { ensure(table: string, day: string): Promise<void>; created: string[] };

export function dayPartitions(sql: Sql, known: Set<string>): DayPartitions {
  const created: string[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  return {
    created,
    ensure(table, day) {
      const { name, from, to } = dayPartition(table, day);
      if (known.has(name)) return Promise.resolve();
      const made = queue.then(async () => {
        if (known.has(name)) return;
        await sql.unsafe(
          `create table if not exists ${qualified(name)} partition of ${qualified(table)} for values from ('${from}') to ('${to}')`,
        );
        known.add(name);
        created.push(name);
      });
      queue = made.catch(() => {});
      return made;
    },
  };
}

export async function existingPartitions(sql: Sql): Promise<Set<string>> {
  const rows = await sql<{ name: string }[]>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'warehouse'`;
  return new Set(rows.map((r) => r.name));
}

/** Drop day partitions that ended more than `days` days before today (UTC). */
export async function dropExpired(sql: Sql, tables: readonly WarehouseTable[], days: number): Promise<string[]> {
  const today = new Date(new Date().toISOString().slice(0, 10));
  const cutoff = today.getTime() - days * 86_400_000;
  const dropped: string[] = [];
  for (const name of await existingPartitions(sql)) {
    const match = name.match(/^(.+)_p(\d{4})(\d{2})(\d{2})$/);
    if (!match || !tables.some((t) => t.table === match[1])) continue;
    const start = Date.parse(`${match[2]}-${match[3]}-${match[4]}T00:00:00Z`);
    if (start < cutoff) {
      await sql.unsafe(`drop table if exists ${qualified(name)}`);
      dropped.push(name);
    }
  }
  return dropped.sort();
}
