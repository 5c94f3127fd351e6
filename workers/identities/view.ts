import type { Identifier, IdentityNode } from "../../infra/platform/contracts/identity.ts";
import { type Partitions, partitionOf } from "../../infra/platform/kafka/partitioner.ts";
import { documentKey, keyOf } from "../../infra/platform/redis-keys.ts";

/**
 * The identity graph as the API reads it (SPEC §2.7): one node per linked
 * identifier, under the partition of identity.links that holds its
 * partner's links (the topic is keyed by partner).
 */
export const IDENTITY_NAMESPACE = "identity";
/** The state key of a partner's identifier (its node). */
export const identityNodeId = (partnerId: string, { type, value }: Identifier) => keyOf(partnerId, type, value);
export const identityNodeKey = (partnerId: string, identifier: Identifier, { partitions }: Partitions) =>
  documentKey(IDENTITY_NAMESPACE, identityNodeId(partnerId, identifier), partitionOf(partnerId, partitions));

/** What `GET /v1/profiles/:id/identities` answers. */
export type Identities = { canonical_id: Identifier; identifiers: Identifier[] };
export const identitiesOf = (identifier: Identifier, node: IdentityNode | undefined): Identities =>
  node
    ? { canonical_id: node.canonical, identifiers: node.members }
    : { canonical_id: identifier, identifiers: [identifier] };
