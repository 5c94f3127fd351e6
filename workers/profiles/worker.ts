import { createOpenSearch, createRedis } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { ClickstreamEvent, clickstreamKey } from "../../infra/platform/contracts/clickstream.ts";
import { IdentityChange } from "../../infra/platform/contracts/identity.ts";
import { PersonMember } from "../../infra/platform/contracts/profiles.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { decodeByTopic, decodeWith } from "../runtime/decode.ts";
import { openSearchSink } from "../runtime/sinks/opensearch.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Worker } from "../runtime/worker.ts";
import { identityChangeFold, profileFold } from "./fold.ts";
import { type PersonState, personAnswer, personFold } from "./persons.ts";
import {
  PERSON_NAMESPACE,
  PROFILE_MAPPING,
  PROFILE_NAMESPACE,
  type ProfileState,
  personId,
  personsIndex,
  profileId,
  profilesIndex,
  standaloneAnswer,
} from "./view.ts";

/** Where the profile workers read and write; tests point them at their own topics. */
export type ProfileTopics = { events: string; actions: string; links: string; changes: string; members: string };
export const PROFILE_TOPICS: ProfileTopics = {
  events: TOPIC.clickstream,
  actions: TOPIC.pushActions,
  links: TOPIC.identityLinks,
  changes: TOPIC.identityChanges,
  members: TOPIC.profilesMembers,
};

/** What the profile worker folds: a clickstream event, or a change of the person an identifier belongs to. */
export type ProfileInput = { kind: "event"; event: ClickstreamEvent } | { kind: "identity"; change: IdentityChange };

/**
 * clickstream.events + identity.changes -> one profile per partner and
 * identifier (SPEC §2.1, §3.8): state and lookups in Redis, the same
 * document searchable in OpenSearch while the identifier stands alone; a
 * push action on actions.push for every add_to_cart; the identifiers of
 * every identify event on identity.links for the identity graph; and each
 * linked identifier's profile on profiles.members for its person (SPEC
 * §2.7). Both inputs are keyed by the identifier's value.
 */
export function profileWorker(
  config: Config,
  { name = "profiles", topics: t = PROFILE_TOPICS }: { name?: string; topics?: ProfileTopics } = {},
): Worker<ProfileInput, ProfileState> {
  const foldEvent = profileFold(t);
  const foldChange = identityChangeFold(t);
  return {
    name,
    inputs: [t.events, t.changes],
    outputs: [t.actions, t.links, t.members],
    decode: decodeByTopic<ProfileInput>({
      [t.events]: decodeWith(ClickstreamEvent, (event) => ({ kind: "event", event })),
      [t.changes]: decodeWith(IdentityChange, (change) => ({ kind: "identity", change })),
    }),
    key: (input) =>
      input.kind === "event"
        ? profileId(
            input.event.partner_id,
            clickstreamKey(input.event),
            input.event.user_id != null ? "user_id" : "anonymous_id",
          )
        : profileId(input.change.partner_id, input.change.identifier.value, input.change.identifier.type),
    store: redisStateStore<ProfileState>({
      redis: createRedis(config),
      namespace: PROFILE_NAMESPACE,
      worker: name,
      response: standaloneAnswer,
    }),
    sinks: [
      openSearchSink<ProfileState>({
        client: createOpenSearch(config),
        index: profilesIndex(config.INDEX_PREFIX),
        mappings: PROFILE_MAPPING,
        document: standaloneAnswer,
      }),
    ],
    fold: (state, input) => (input.kind === "event" ? foldEvent(state, input.event) : foldChange(state, input.change)),
    // Both inputs are keyed by the identifier's value, and every profile of an identifier lives in its partition.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

/**
 * profiles.members -> one profile per person (SPEC §2.7): the profiles of
 * its identifiers, merged, readable by any of them and searchable once.
 */
export function personsWorker(
  config: Config,
  { name = "persons", topics: t = PROFILE_TOPICS }: { name?: string; topics?: ProfileTopics } = {},
): Worker<PersonMember, PersonState> {
  return {
    name,
    inputs: [t.members],
    outputs: [],
    decode: decodeWith(PersonMember),
    key: (record) => personId(record.partner_id, record.person),
    store: redisStateStore<PersonState>({
      redis: createRedis(config),
      namespace: PERSON_NAMESPACE,
      worker: name,
      response: personAnswer,
    }),
    sinks: [
      openSearchSink<PersonState>({
        client: createOpenSearch(config),
        index: personsIndex(config.INDEX_PREFIX),
        mappings: PROFILE_MAPPING,
        document: personAnswer,
      }),
    ],
    fold: (state, record) => ({ state: personFold(state, record) }),
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}
