import { sql } from "drizzle-orm";
import {
  bigint,
  index,
  integer,
  jsonb,
  numeric,
  pgSchema,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

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
 * Every version of every user (SPEC §8), kept by triggers on `users` (see the
 * migration 0003_users_history_trigger): `valid_from` is the version's
 * `updated_at`, `valid_to` the next version's `valid_from` (or the deletion
 * time); null means current. Checkout attribution reads the user as of a time.
 */
export const usersHistory = pgTable(
  "users_history",
  {
    userId: text("user_id").notNull(),
    username: text("username").notNull(),
    name: text("name"),
    email: text("email"),
    region: text("region"),
    gender: text("gender"),
    updatedAt: timestamp("updated_at", { withTimezone: true }),
    validFrom: timestamp("valid_from", { withTimezone: true }).notNull(),
    validTo: timestamp("valid_to", { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.userId, t.validFrom] })],
);

/**
 * One row per checkout (SPEC §2.3): the checkout, its first click in the hour
 * before it (null when none) and the user as of the checkout. Written only by
 * the `attributed-checkouts` worker, upserted by checkout_id.
 */
export const attributedCheckouts = pgTable(
  "attributed_checkouts",
  {
    checkoutId: text("checkout_id").primaryKey(),
    userId: text("user_id").notNull(),
    productId: text("product_id").notNull(),
    totalAmount: numeric("total_amount").notNull(),
    occurredAt: timestamp("occurred_at", { withTimezone: true, precision: 3 }).notNull(),
    paymentMethod: text("payment_method"),
    shippingAddress: text("shipping_address"),
    billingAddress: text("billing_address"),
    userAgent: text("user_agent"),
    ipAddress: text("ip_address"),
    clickId: text("click_id"),
    clickedAt: timestamp("clicked_at", { withTimezone: true, precision: 3 }),
    clickUrl: text("click_url"),
    username: text("username"),
    userName: text("user_name"),
    userEmail: text("user_email"),
    userRegion: text("user_region"),
    userGender: text("user_gender"),
    /** valid_from of the users_history version used; null when the user was unknown at checkout time. */
    userVersion: timestamp("user_version", { withTimezone: true }),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("attributed_checkouts_user_time").on(t.userId, t.occurredAt),
    index("attributed_checkouts_product_time").on(t.productId, t.occurredAt),
    index("attributed_checkouts_time").on(t.occurredAt),
  ],
);

/**
 * Applied offsets of workers whose state is a Postgres table: committed in
 * the same transaction as the rows (SPEC §3.2), so a replay is recognised.
 */
export const workerOffsets = pgTable(
  "worker_offsets",
  {
    worker: text("worker").notNull(),
    topic: text("topic").notNull(),
    partition: integer("partition").notNull(),
    appliedOffset: bigint("applied_offset", { mode: "bigint" }).notNull(),
    /** The topic incarnation (`<cluster id>/<topic id>`) the offset belongs to; null: recorded before incarnations were. */
    incarnation: text("incarnation"),
  },
  (t) => [primaryKey({ columns: [t.worker, t.topic, t.partition] })],
);

/**
 * The identity of a Postgres-backed worker's state (made on first use): the
 * runner commits consumer offsets with it, so offsets committed for state
 * that is gone are recognised.
 */
export const workerStores = pgTable("worker_stores", {
  worker: text("worker").primaryKey(),
  storeId: text("store_id").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * One row per member the `emailer` worker handled (SPEC §2.4): `sent` when
 * the SMTP server accepted the welcome email, `dead_lettered` (with the
 * reason) when it never would; written with the worker's applied offsets in
 * one transaction. The Message-ID is derived from the member, so even a send
 * repeated after a crash carries the same one.
 */
export const welcomeEmails = pgTable("welcome_emails", {
  memberId: text("member_id").primaryKey(),
  messageId: text("message_id").notNull(),
  email: text("email").notNull(),
  subscriberKey: text("subscriber_key").notNull(),
  outcome: text("outcome", { enum: ["sent", "dead_lettered"] }).notNull(),
  reason: text("reason"),
  /** When the SMTP server accepted it (or it was dead-lettered). */
  handledAt: timestamp("handled_at", { withTimezone: true }).notNull(),
});

/**
 * The transactional outbox (SPEC §2.4): triggers on source tables write each
 * captured change here in the writer's own transaction and NOTIFY
 * `cdc_outbox`; the capture worker publishes rows in id order and deletes
 * them in one transaction with the broker's ack. See migration
 * 0005_capture_triggers.
 */
export const cdcOutbox = pgTable("cdc_outbox", {
  id: bigint("id", { mode: "bigint" }).primaryKey().generatedAlwaysAsIdentity(),
  topic: text("topic").notNull(),
  key: text("key").notNull(),
  /** The record value; null is a tombstone. */
  payload: jsonb("payload"),
  capturedAt: timestamp("captured_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * API keys: only a SHA-256 of the key is kept (keys are 256-bit random, so a
 * fast hash is enough); `prefix` identifies a key in listings. A key belongs
 * to one partner and carries scopes (SPEC §3.8, §4).
 */
export const apiKeys = pgTable("api_keys", {
  id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
  partnerId: text("partner_id").notNull(),
  prefix: text("prefix").notNull(),
  keyHash: text("key_hash").notNull().unique(),
  /** What the key may do (api/scopes.ts); keys made before scopes existed get the least-privilege default. */
  scopes: text("scopes").array().notNull().default(sql`'{events:write,profiles:read}'::text[]`),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
});

/**
 * The warehouse (SPEC §2.6): one table per raw topic, partitioned by day of
 * event time. Those tables and their day partitions are made by the export
 * job from the topic contracts (workers/export/tables.ts), since partitioned
 * tables are beyond drizzle-kit; the offsets it has loaded up to live here.
 */
export const warehouse = pgSchema("warehouse");

/**
 * The next offset to load per topic-partition, committed with the rows it
 * covers, and the topic incarnation (cluster id / topic id) it counts in:
 * an offset of another incarnation (a reset broker, a topic made again)
 * means nothing in this one. Null: committed before incarnations were kept.
 */
export const exportOffsets = warehouse.table(
  "export_offsets",
  {
    topic: text("topic").notNull(),
    partition: integer("partition").notNull(),
    nextOffset: bigint("next_offset", { mode: "bigint" }).notNull(),
    incarnation: text("incarnation"),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.topic, t.partition] })],
);

/**
 * The person each linked identifier belongs to (SPEC §2.7), kept from
 * identity.changes by the warehouse-identities worker: what the daily
 * report joins the clickstream rows with to count people, not identifiers.
 * Not partitioned by day: a link made a month ago still unifies today's
 * events.
 */
export const warehouseIdentities = warehouse.table(
  "identities",
  {
    partnerId: text("partner_id").notNull(),
    identifierType: text("identifier_type").notNull(),
    identifierValue: text("identifier_value").notNull(),
    canonicalType: text("canonical_type").notNull(),
    canonicalValue: text("canonical_value").notNull(),
    /** How many identifiers the person had when this row was written (groups only grow: a smaller one is older). */
    groupSize: integer("group_size").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.partnerId, t.identifierType, t.identifierValue] })],
);
