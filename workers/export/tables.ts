import type * as v from "valibot";
import { ClickstreamEvent } from "../../infra/platform/contracts/clickstream.ts";
import { Checkout, Click } from "../../infra/platform/contracts/commerce.ts";
import { Beacon, EnrichedBeacon, EnrichedInteraction, Interaction } from "../../infra/platform/contracts/content.ts";
import { FollowEvent, LikeEvent, TweetEvent } from "../../infra/platform/contracts/social.ts";
import { TOPIC } from "../../infra/platform/topology.ts";

/** Postgres types the warehouse uses for contract fields. */
export type ColumnType = "text" | "timestamptz" | "numeric" | "text[]" | "boolean" | "jsonb" | "int" | "bigint";

/** A contract field as a typed column (same name). */
export type Column = { name: string; type: ColumnType };

/**
 * A raw topic's warehouse table: the contract's fields as typed columns, then
 * the record itself (`raw`, `_key`) and where it came from (`_topic`,
 * `_partition`, `_offset`), partitioned by day of `occurred_at`.
 */
export type WarehouseTable = {
  topic: string;
  table: string;
  schema: v.GenericSchema;
  columns: readonly Column[];
};

const text = (...names: string[]): Column[] => names.map((name) => ({ name, type: "text" }));
const occurredAt: Column = { name: "occurred_at", type: "timestamptz" };
const beacon: Column[] = [...text("user_id"), occurredAt, ...text("device")];
const interaction: Column[] = [
  ...text("user_id", "content_id", "action"),
  occurredAt,
  { name: "liked", type: "boolean" },
  { name: "shared", type: "boolean" },
];
/** What an enriched record adds: the user's attributes as joined (jsonb, null when unknown) and where the event entered. */
const enrichment: Column[] = [
  { name: "user", type: "jsonb" },
  { name: "source_partition", type: "int" },
  { name: "source_offset", type: "bigint" },
];

export const WAREHOUSE_TABLES: readonly WarehouseTable[] = [
  {
    topic: TOPIC.clickstream,
    table: "clickstream_events",
    schema: ClickstreamEvent,
    columns: [
      ...text("event_id", "type", "user_id", "partner_id"),
      occurredAt,
      ...text("anonymous_id", "email_hash", "device_id"),
      ...text(
        "session_id",
        "partner_name",
        "country",
        "language",
        "version",
        "user_agent",
        "referrer",
        "current_url",
        "page_type",
      ),
      { name: "category", type: "text[]" },
      ...text("search_query"),
      { name: "cart_amount", type: "numeric" },
    ],
  },
  {
    topic: TOPIC.clicks,
    table: "commerce_clicks",
    schema: Click,
    columns: [
      ...text("click_id", "user_id", "product_id"),
      occurredAt,
      ...text("product"),
      { name: "price", type: "numeric" },
      ...text("url", "user_agent", "ip_address"),
    ],
  },
  {
    topic: TOPIC.checkouts,
    table: "commerce_checkouts",
    schema: Checkout,
    columns: [
      ...text("checkout_id", "user_id", "product_id"),
      { name: "total_amount", type: "numeric" },
      occurredAt,
      ...text("payment_method", "shipping_address", "billing_address", "user_agent", "ip_address"),
    ],
  },
  {
    topic: TOPIC.tweets,
    table: "social_tweets",
    schema: TweetEvent,
    columns: [...text("type", "tweet_id", "user_id"), occurredAt, ...text("text")],
  },
  {
    topic: TOPIC.follows,
    table: "social_follows",
    schema: FollowEvent,
    columns: [...text("type", "follower_id", "followee_id"), occurredAt],
  },
  {
    topic: TOPIC.likes,
    table: "social_likes",
    schema: LikeEvent,
    columns: [...text("type", "user_id", "tweet_id"), occurredAt],
  },
  { topic: TOPIC.beacons, table: "content_beacons", schema: Beacon, columns: beacon },
  { topic: TOPIC.interactions, table: "content_interactions", schema: Interaction, columns: interaction },
  {
    topic: TOPIC.activeUsersEnriched,
    table: "active_users_enriched",
    schema: EnrichedBeacon,
    columns: [...beacon, ...enrichment],
  },
  {
    topic: TOPIC.interactionsEnriched,
    table: "interactions_enriched",
    schema: EnrichedInteraction,
    columns: [...interaction, ...enrichment],
  },
];

/** A table shaped like `like`, for another topic and under another name (tests, bench). */
export const tableLike = (like: WarehouseTable, topic: string, table: string): WarehouseTable => ({
  ...like,
  topic,
  table,
});

/** Columns every warehouse table has after the contract's. */
export const META_COLUMNS = ["raw", "_key", "_topic", "_partition", "_offset"] as const;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const qualified = (table: string) => `warehouse.${quote(table)}`;

/** DDL of a topic's partitioned table and its reject table; idempotent. */
export function createTableSql(t: WarehouseTable): string[] {
  const columns = t.columns.map((c) => `${quote(c.name)} ${c.type}${c.name === "occurred_at" ? " not null" : ""}`);
  return [
    `create table if not exists ${qualified(t.table)} (
      ${columns.join(",\n      ")},
      raw jsonb not null, _key text, _topic text not null, _partition int not null, _offset bigint not null,
      _loaded_at timestamptz not null default now()
    ) partition by range (occurred_at)`,
    // A contract that gained optional fields: their columns join a table made before (null in older rows).
    ...t.columns.map((c) => `alter table ${qualified(t.table)} add column if not exists ${quote(c.name)} ${c.type}`),
    `create index if not exists ${quote(`${t.table}_source`)} on ${qualified(t.table)} (_partition, _offset)`,
    `create table if not exists ${qualified(`${t.table}_rejects`)} (
      _topic text not null, _partition int not null, _offset bigint not null, _key text, raw text,
      reason text not null, _loaded_at timestamptz not null default now(),
      primary key (_topic, _partition, _offset)
    )`,
  ];
}

/** A day partition's name and bounds: `<table>_pYYYYMMDD` for [day, day + 1). */
export function dayPartition(table: string, day: string): { name: string; from: string; to: string } {
  const start = new Date(`${day}T00:00:00Z`);
  const next = new Date(start.getTime() + 86_400_000);
  return { name: `${table}_p${day.replaceAll("-", "")}`, from: start.toISOString(), to: next.toISOString() };
}
