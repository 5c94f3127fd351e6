import {
  compareIdentifiers,
  IDENTIFIER_TYPES,
  type Identifier,
  type IdentifierType,
  type IdentityNode,
  identifierRef,
} from "../../infra/platform/contracts/identity.ts";

/**
 * One partner's identity graph (SPEC §2.7), as the pure logic of its worker.
 * A group of linked identifiers is a person; each member's node
 * (IdentityNode) holds the whole group, which the limits keep small, so a
 * lookup by any identifier answers in one read. An identifier never linked
 * has no node: it is a group of one, its own canonical id.
 */

/**
 * The most identifiers of each type one person may have (identity limits,
 * as Segment Unify and RudderStack have them; IDENTITY_LIMITS): with one
 * user_id, a shared device or a bad link cannot fuse two accounts, or
 * thousands of people.
 */
export type IdentityLimits = Record<IdentifierType, number>;

export type LinkResult =
  | {
      /** The new node of every member of the merged group; empty when they were one group already. */
      nodes: { identifier: Identifier; node: IdentityNode }[];
      /** The canonical ids of the groups merged into `canonical` (those that are no longer anyone's). */
      merged: Identifier[];
      canonical: Identifier;
    }
  | { refused: string };

/**
 * Link identifiers into one group: the union of their groups, unless it
 * would give one person more identifiers of a type than `limits` allow,
 * when nothing changes and the reason says which limit. Applying the same
 * link twice changes nothing the second time; links without refusals give
 * the same groups and canonical ids in any order (union is commutative and
 * the canonical id a function of the members).
 */
export function linkIdentifiers(
  groupOf: (identifier: Identifier) => IdentityNode | undefined,
  identifiers: readonly Identifier[],
  limits: IdentityLimits,
): LinkResult {
  const groups = new Map<string, IdentityNode>();
  for (const identifier of identifiers) {
    const node = groupOf(identifier) ?? { canonical: identifier, members: [identifier] };
    groups.set(identifierRef(node.canonical), node);
  }
  const byRef = new Map([...groups.values()].flatMap((g) => g.members).map((m) => [identifierRef(m), m]));
  const members = [...byRef.values()].sort(compareIdentifiers);
  const canonical = members[0]!;
  if (groups.size === 1) return { nodes: [], merged: [], canonical };

  const over = IDENTIFIER_TYPES.flatMap((type) => {
    const ofType = members.filter((m) => m.type === type);
    return ofType.length > limits[type] ? [{ type, ofType }] : [];
  });
  if (over.length > 0) {
    const [{ type, ofType }] = over as [(typeof over)[number]];
    const shown = ofType.slice(0, 5).map(identifierRef).join(", ");
    return {
      refused: `identity limit: linking would give one person ${ofType.length} ${type} (limit ${limits[type]}): ${shown}${ofType.length > 5 ? ", ..." : ""}`,
    };
  }
  const node: IdentityNode = { canonical, members };
  return {
    nodes: members.map((identifier) => ({ identifier, node })),
    merged: [...groups.values()].map((g) => g.canonical).filter((c) => compareIdentifiers(c, canonical) !== 0),
    canonical,
  };
}
