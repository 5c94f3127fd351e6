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

/**
 * API keys: only a SHA-256 of the key is kept (keys are 256-bit random, so a
 * fast hash is enough); `prefix` identifies a key in listings.
 */
export const apiKeys = pgTable("api_keys", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  partnerId: text("partner_id").notNull(),
  prefix: text("prefix").notNull(),
  keyHash: text("key_hash").notNull().unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
});
