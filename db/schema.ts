import { bigint, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Source tables the site itself writes (SPEC §8). The project creates them;
 * other programs insert and update rows with plain SQL.
 */

export const members = pgTable("members", {
  id: bigint("id", { mode: "bigint" }).primaryKey().generatedByDefaultAsIdentity(),
  email: text("email").notNull(),
  name: text("name"),
  organizationId: text("organization_id"),
  createdAt: timestamp("created_at", { withTimezone: true }).defaultNow(),
});

export const users = pgTable("users", {
  userId: text("user_id").primaryKey(),
  username: text("username").notNull(),
  name: text("name"),
  email: text("email"),
  region: text("region"),
  gender: text("gender"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).defaultNow(),
});
