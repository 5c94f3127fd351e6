import type * as v from "valibot";
import { ClickstreamEvent, clickstreamKey } from "../../infra/platform/contracts/clickstream.ts";
import { Checkout, Click } from "../../infra/platform/contracts/commerce.ts";
import { Beacon, Interaction } from "../../infra/platform/contracts/content.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import type { IngestTopic } from "../routes/ingest.ts";

// Sound because the route hands `key` and `partnerOf` only events its own schema validated.
const endpoint = <S extends v.GenericSchema>(e: IngestTopic<S>) => e as unknown as IngestTopic<v.GenericSchema>;

/** The topics the ingest endpoints write; tests point them at their own. */
export type IngestTopics = { events: string; clicks: string; checkouts: string; beacons: string; interactions: string };
export const INGEST_TOPICS: IngestTopics = {
  events: TOPIC.clickstream,
  clicks: TOPIC.clicks,
  checkouts: TOPIC.checkouts,
  beacons: TOPIC.beacons,
  interactions: TOPIC.interactions,
};

/** Every ingest endpoint, the topic it writes and the scope it needs (SPEC §4); the API mounts these, datagen posts to them. */
export const ingestEndpoints = (topics: IngestTopics = INGEST_TOPICS): readonly IngestTopic<v.GenericSchema>[] => [
  endpoint({
    path: "/v1/events",
    topic: topics.events,
    scope: "events:write",
    schema: ClickstreamEvent,
    key: clickstreamKey,
    partnerOf: (e) => e.partner_id,
  }),
  endpoint({ path: "/v1/clicks", topic: topics.clicks, scope: "commerce:write", schema: Click, key: (e) => e.user_id }),
  endpoint({
    path: "/v1/checkouts",
    topic: topics.checkouts,
    scope: "commerce:write",
    schema: Checkout,
    key: (e) => e.user_id,
  }),
  endpoint({
    path: "/v1/beacons",
    topic: topics.beacons,
    scope: "content:write",
    schema: Beacon,
    key: (e) => e.user_id,
  }),
  endpoint({
    path: "/v1/interactions",
    topic: topics.interactions,
    scope: "content:write",
    schema: Interaction,
    key: (e) => e.user_id,
  }),
];

export const INGEST_ENDPOINTS = ingestEndpoints();

/** topic -> the path that ingests it. */
export const INGEST_PATHS: Readonly<Record<string, string>> = Object.fromEntries(
  INGEST_ENDPOINTS.map((e) => [e.topic, e.path]),
);

/** Every scope an ingest endpoint needs: what a traffic generator's key carries. */
export const INGEST_SCOPES = [...new Set(INGEST_ENDPOINTS.map((e) => e.scope))];
