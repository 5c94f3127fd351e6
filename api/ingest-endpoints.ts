import type * as v from "valibot";
import { CLICKSTREAM_TOPIC, ClickstreamEvent } from "../infra/contracts/clickstream.ts";
import { CHECKOUTS_TOPIC, Checkout, Click, CLICKS_TOPIC } from "../infra/contracts/commerce.ts";
import { Beacon, BEACONS_TOPIC, Interaction, INTERACTIONS_TOPIC } from "../infra/contracts/content.ts";
import type { IngestTopic } from "./routes/ingest.ts";

// Sound because the route hands `key` and `partnerOf` only events its own schema validated.
const endpoint = <S extends v.GenericSchema>(e: IngestTopic<S>) => e as unknown as IngestTopic<v.GenericSchema>;

/** Every ingest endpoint and the topic it writes (SPEC §4); the API mounts these, datagen posts to them. */
export const INGEST_ENDPOINTS: readonly IngestTopic<v.GenericSchema>[] = [
  endpoint({ path: "/v1/events", topic: CLICKSTREAM_TOPIC, schema: ClickstreamEvent, key: (e) => e.user_id, partnerOf: (e) => e.partner_id }),
  endpoint({ path: "/v1/clicks", topic: CLICKS_TOPIC, schema: Click, key: (e) => e.user_id }),
  endpoint({ path: "/v1/checkouts", topic: CHECKOUTS_TOPIC, schema: Checkout, key: (e) => e.user_id }),
  endpoint({ path: "/v1/beacons", topic: BEACONS_TOPIC, schema: Beacon, key: (e) => e.user_id }),
  endpoint({ path: "/v1/interactions", topic: INTERACTIONS_TOPIC, schema: Interaction, key: (e) => e.user_id }),
];

/** topic -> the path that ingests it. */
export const INGEST_PATHS: Readonly<Record<string, string>> = Object.fromEntries(INGEST_ENDPOINTS.map((e) => [e.topic, e.path]));
