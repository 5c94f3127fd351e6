import { defineConfig } from "drizzle-kit";

// `bun run db:generate` turns schema changes into a new committed migration.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema.ts",
  out: "./db/migrations",
});
