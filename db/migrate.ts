import { join } from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { configOrExit } from "../infra/platform/config.ts";

export const MIGRATIONS = join(import.meta.dir, "migrations");

/** Apply every committed migration not yet applied; safe to run concurrently and repeatedly. */
export async function migrateDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // Two processes starting at once must not both run a migration.
    await sql`select pg_advisory_lock(7316202611)`;
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  const config = configOrExit();
  await migrateDatabase(config.DATABASE_URL).catch((error: { code?: string; message?: string }) => {
    // "database does not exist": stack up creates it (and applies the migrations).
    if (error.code === "3D000") console.error(`${error.message}: run \`bun run stack up\`, which creates it`);
    else console.error(`migrations failed: ${error.message ?? String(error)}`);
    process.exit(1);
  });
  console.log("migrations applied");
}
