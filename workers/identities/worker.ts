import { createRedis, createSql } from "../../infra/platform/clients.ts";
import type { Config } from "../../infra/platform/config.ts";
import { IdentityChange, IdentityLink, type IdentityNode } from "../../infra/platform/contracts/identity.ts";
import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import { decodeWith } from "../runtime/decode.ts";
import { postgresStateStore } from "../runtime/stores/postgres-state.ts";
import { redisStateStore } from "../runtime/stores/redis-state.ts";
import type { Worker } from "../runtime/worker.ts";
import { type IdentityLimits, linkIdentifiers } from "./graph.ts";
import { type IdentityRow, identityRowKey, keepLargestGroup, loadIdentityRows, writeIdentityRows } from "./table.ts";
import { IDENTITY_NAMESPACE, identityNodeId } from "./view.ts";

/** Where the identity graph reads and writes; tests point it at their own topics. */
export type IdentityTopics = { links: string; changes: string };
export const IDENTITY_TOPICS: IdentityTopics = { links: TOPIC.identityLinks, changes: TOPIC.identityChanges };

/**
 * identity.links -> each partner's identity graph in Redis (SPEC §2.7). The
 * topic is keyed by partner, so one partition applies all of a partner's
 * links in one order: a link reads the nodes of the identifiers it names and
 * rewrites every node of the merged group in one commit, and tells each
 * member's profile its person on identity.changes. A link that would break
 * an identity limit is refused to the dead-letter topic with the limit it
 * breaks.
 */
export function identityWorker(
  config: Config,
  { name = "identities", topics = IDENTITY_TOPICS }: { name?: string; topics?: IdentityTopics } = {},
): Worker<IdentityLink, IdentityNode> {
  const limits: IdentityLimits = config.IDENTITY_LIMITS;
  const nodeIds = (link: IdentityLink) => link.identifiers.map((id) => identityNodeId(link.partner_id, id));
  // A link's state is its first identifier's node; the others are related keys.
  const ownNodeId = (link: IdentityLink) => identityNodeId(link.partner_id, link.identifiers[0]!);
  return {
    name,
    inputs: [topics.links],
    outputs: [topics.changes],
    decode: decodeWith(IdentityLink),
    key: ownNodeId,
    related: (link) => nodeIds(link).slice(1),
    store: redisStateStore<IdentityNode>({ redis: createRedis(config), namespace: IDENTITY_NAMESPACE, worker: name }),
    fold(state, link, _record, _times, read) {
      const linked = linkIdentifiers((id) => read(identityNodeId(link.partner_id, id)), link.identifiers, limits);
      if ("refused" in linked) return { state: state ?? null, refused: linked.refused };
      const own = ownNodeId(link);
      const folded = {
        state: state ?? null,
        others: [] as { key: string; state: IdentityNode }[],
        emit: [] as OutRecord[],
      };
      for (const { identifier, node } of linked.nodes) {
        const key = identityNodeId(link.partner_id, identifier);
        if (key === own) folded.state = node;
        else folded.others.push({ key, state: node });
        const change: IdentityChange = {
          event_id: link.event_id,
          partner_id: link.partner_id,
          identifier,
          canonical: node.canonical,
          members: node.members,
        };
        folded.emit.push({ topic: topics.changes, key: identifier.value, value: change });
      }
      return folded;
    },
    // Every node of a partner lives in the partner's partition.
    partitionConcurrency: config.TOPIC_PARTITIONS,
  };
}

/**
 * identity.changes -> warehouse.identities (SPEC §2.7): each linked
 * identifier's person as a Postgres row, committed with the offsets it
 * came from, for the daily report to count people.
 */
export function identityTableWorker(
  config: Config,
  { name = "warehouse-identities", topics = IDENTITY_TOPICS }: { name?: string; topics?: IdentityTopics } = {},
): Worker<IdentityChange, IdentityRow> {
  return {
    name,
    inputs: [topics.changes],
    outputs: [],
    decode: decodeWith(IdentityChange),
    key: identityRowKey,
    store: postgresStateStore<IdentityRow, IdentityChange>({
      sql: createSql(config, 4),
      worker: name,
      loadStates: loadIdentityRows,
      writeChanges: writeIdentityRows,
      dropRows: async (tx) => void (await tx`truncate warehouse.identities`),
    }),
    fold: keepLargestGroup,
    partitionConcurrency: 4,
  };
}
