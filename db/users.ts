import type { Sql } from "postgres";

/**
 * Writes to the `users` source table, as the site would make them. History
 * is not written here: the table's triggers keep `users_history`.
 */

export type UserRow = {
  user_id: string;
  username: string;
  name?: string | null;
  email?: string | null;
  region?: string | null;
  gender?: string | null;
  /** When this version starts; default now. A backfill passes past times, in order. */
  updated_at?: Date;
};

const COLUMNS = ["user_id", "username", "name", "email", "region", "gender", "updated_at"] as const;

/** Insert or update users (each user at most once per call). */
export async function upsertUsers(sql: Sql, users: readonly UserRow[]): Promise<void> {
  if (users.length === 0) return;
  const now = new Date();
  const rows = users.map((u) => ({
    user_id: u.user_id,
    username: u.username,
    name: u.name ?? null,
    email: u.email ?? null,
    region: u.region ?? null,
    gender: u.gender ?? null,
    updated_at: (u.updated_at ?? now).toISOString(),
  }));
  // Postgres takes at most 65535 parameters per statement.
  for (let i = 0; i < rows.length; i += 5000) {
    await sql`
      insert into users ${sql(rows.slice(i, i + 5000), ...COLUMNS)}
      on conflict (user_id) do update set
        username = excluded.username, name = excluded.name, email = excluded.email,
        region = excluded.region, gender = excluded.gender, updated_at = excluded.updated_at`;
  }
}

/** Write many versions in order (a user may appear several times): one statement per run of distinct users. */
export async function writeUserVersions(sql: Sql, versions: readonly UserRow[]): Promise<void> {
  let batch = new Map<string, UserRow>();
  for (const version of versions) {
    if (batch.has(version.user_id)) {
      await upsertUsers(sql, [...batch.values()]);
      batch = new Map();
    }
    batch.set(version.user_id, version);
  }
  await upsertUsers(sql, [...batch.values()]);
}

export async function deleteUsers(sql: Sql, userIds: readonly string[]): Promise<number> {
  const deleted = await sql`delete from users where user_id = any(${userIds as string[]})`;
  return deleted.count;
}

export type UserVersion = Required<Omit<UserRow, "updated_at">> & { valid_from: Date; valid_to: Date | null };

export async function userHistory(sql: Sql, userId: string): Promise<UserVersion[]> {
  // Dates made here: a connection drizzle wraps returns times as text.
  const versions = await sql<UserVersion[]>`
    select user_id, username, name, email, region, gender, valid_from, valid_to
    from users_history where user_id = ${userId} order by valid_from`;
  return versions.map((v) => ({
    ...v,
    valid_from: new Date(v.valid_from),
    valid_to: v.valid_to === null ? null : new Date(v.valid_to),
  }));
}
