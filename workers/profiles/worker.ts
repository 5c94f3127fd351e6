import { createOpenSearch, createRedis } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { ClickstreamEvent } from "../../infra/platform/contracts/clickstream.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { decodeWith } from "../runtime/decode.ts";
import { openSearchSink } from "../runtime/sinks/opensearch.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Worker } from "../runtime/worker.ts";
import { profileFold } from "./fold.ts";
import {
  PROFILE_MAPPING,
  PROFILE_NAMESPACE,
  type ProfileState,
  profileAnswer,
  profileId,
  profilesIndex,
} from "./view.ts";

/** Where the profile worker reads and writes; tests point it at their own topics (`links` defaults to identity.links). */
export type ProfileTopics = { events: string; actions: string; links?: string };
export const PROFILE_TOPICS: ProfileTopics = {
  events: TOPIC.clickstream,
  actions: TOPIC.pushActions,
  links: TOPIC.identityLinks,
};

/**
 * clickstream.events -> one profile per partner and user (SPEC §2.1, §3.8):
 * state and lookups in Redis, the same document searchable in OpenSearch,
 * a push action on actions.push for every add_to_cart, and the identifiers
 * of every identify event on identity.links for the identity graph.
 */
export function profileWorker(
  config: Config,
  { name = "profiles", topics = PROFILE_TOPICS } = {},
): Worker<ClickstreamEvent, ProfileState> {
  const links = topics.links ?? TOPIC.identityLinks;
  return {
    name,
    inputs: [topics.events],
    outputs: [topics.actions, links],
    decode: decodeWith(ClickstreamEvent),
    key: (event) =>
      event.user_id != null
        ? profileId(event.partner_id, event.user_id)
        : profileId(event.partner_id, event.anonymous_id!, "anonymous_id"),
    store: redisStateStore<ProfileState>({
      redis: createRedis(config),
      namespace: PROFILE_NAMESPACE,
      worker: name,
      response: profileAnswer,
    }),
    sinks: [
      openSearchSink<ProfileState>({
        client: createOpenSearch(config),
        index: profilesIndex(config.INDEX_PREFIX),
        mappings: PROFILE_MAPPING,
        document: profileAnswer,
      }),
    ],
    fold: profileFold({ actions: topics.actions, links }),
    // clickstream.events is keyed by user_id, and every profile of a user lives in that user's partition.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}
