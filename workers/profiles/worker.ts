import type { Config } from "../../infra/config.ts";
import { createOpenSearch, createRedis } from "../../infra/clients.ts";
import { CLICKSTREAM_TOPIC, ClickstreamEvent } from "../../infra/contracts/clickstream.ts";
import { decodeWith } from "../decode.ts";
import { openSearchSink } from "../sinks/opensearch.ts";
import { redisStateStore } from "../stores/redis-state.ts";
import type { Worker } from "../worker.ts";
import { foldProfile } from "./fold.ts";
import { PROFILE_MAPPING, PROFILE_OFFSETS_KEY, profileKey, profilesIndex, type ProfileState } from "./profile.ts";

/**
 * clickstream.events -> one profile per user (SPEC §2.1): state and lookups
 * in Redis, the same document searchable in OpenSearch, and a push action on
 * actions.push for every add_to_cart.
 */
export function profileWorker(config: Config): Worker<ClickstreamEvent, ProfileState> {
  return {
    name: "profiles",
    inputs: [CLICKSTREAM_TOPIC],
    decode: decodeWith(ClickstreamEvent),
    key: (event) => event.user_id,
    store: redisStateStore<ProfileState>({ redis: createRedis(config), documentKey: profileKey, offsetsKey: PROFILE_OFFSETS_KEY }),
    sinks: [
      openSearchSink<ProfileState>({
        client: createOpenSearch(config),
        index: profilesIndex(config.INDEX_PREFIX),
        mappings: PROFILE_MAPPING,
        document: (state) => state.profile,
      }),
    ],
    fold: foldProfile,
    // clickstream.events is keyed by user_id, the state's key.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}
