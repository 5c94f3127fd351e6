import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  type Identifier,
  type IdentifierType,
  type IdentityNode,
  identifierRef,
} from "../infra/platform/contracts/identity.ts";
import { type IdentityLimits, linkIdentifiers } from "../workers/identities/graph.ts";

const NO_LIMITS: IdentityLimits = { user_id: 1000, email_hash: 1000, device_id: 1000, anonymous_id: 1000 };
const LIMITS: IdentityLimits = { user_id: 1, email_hash: 2, device_id: 3, anonymous_id: 5 };

const id = (type: IdentifierType, value: string): Identifier => ({ type, value });

/** Apply links in order to an in-memory graph, as the worker does to its nodes; what each link was refused for. */
function applyAll(links: Identifier[][], limits: IdentityLimits) {
  const nodes = new Map<string, IdentityNode>();
  const refused: string[] = [];
  for (const link of links) {
    const result = linkIdentifiers((i) => nodes.get(identifierRef(i)), link, limits);
    if ("refused" in result) refused.push(result.refused);
    else for (const { identifier, node } of result.nodes) nodes.set(identifierRef(identifier), node);
  }
  return { nodes, refused };
}

/** The graph as sorted groups of refs, with each group's canonical id: comparable across runs. */
const groupsOf = (nodes: Map<string, IdentityNode>) =>
  [
    ...new Set(
      [...nodes.values()].map((n) => `${identifierRef(n.canonical)} <- ${n.members.map(identifierRef).join(",")}`),
    ),
  ].sort();

/** Connected components of the links by plain union-find, written here and not taken from the worker. */
function componentsByUnionFind(links: Identifier[][]): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    if (!parent.has(x)) parent.set(x, x);
    const p = parent.get(x)!;
    if (p === x) return x;
    const root = find(p);
    parent.set(x, root);
    return root;
  };
  for (const link of links)
    for (const other of link.slice(1)) parent.set(find(identifierRef(other)), find(identifierRef(link[0]!)));
  const groups = new Map<string, string[]>();
  for (const x of parent.keys()) groups.set(find(x), [...(groups.get(find(x)) ?? []), x]);
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort());
}

const identifierArb = fc
  .tuple(
    fc.constantFrom<IdentifierType>("user_id", "email_hash", "device_id", "anonymous_id"),
    fc.integer({ min: 0, max: 7 }),
  )
  .map(([type, n]) => id(type, `${type[0]}${n}`));
const linksArb = fc.array(fc.uniqueArray(identifierArb, { minLength: 2, maxLength: 3, selector: identifierRef }), {
  minLength: 1,
  maxLength: 12,
});

describe("identity graph", () => {
  test("links in any order give the same groups and canonical ids, equal to union-find's components", () => {
    let checked = 0;
    fc.assert(
      fc.property(
        linksArb.chain((links) =>
          fc.tuple(
            fc.constant(links),
            fc.shuffledSubarray(links, { minLength: links.length, maxLength: links.length }),
          ),
        ),
        ([links, shuffled]) => {
          const forward = applyAll(links, NO_LIMITS);
          const backward = applyAll([...links].reverse(), NO_LIMITS);
          const other = applyAll(shuffled, NO_LIMITS);
          expect(groupsOf(backward.nodes)).toEqual(groupsOf(forward.nodes));
          expect(groupsOf(other.nodes)).toEqual(groupsOf(forward.nodes));
          const members = [
            ...new Set([...forward.nodes.values()].map((n) => n.members.map(identifierRef).sort().join(","))),
          ].sort();
          expect(members).toEqual(
            componentsByUnionFind(links)
              .map((g) => g.join(","))
              .sort(),
          );
          checked++;
        },
      ),
      { numRuns: 300 },
    );
    expect(checked).toBe(300);
  });

  test("the canonical id is the group's user_id, else its first identifier in type order, then value", () => {
    const { nodes } = applyAll(
      [
        [id("anonymous_id", "a2"), id("device_id", "d9")],
        [id("anonymous_id", "a1"), id("device_id", "d9")],
      ],
      LIMITS,
    );
    expect(nodes.get("anonymous_id:a1")!.canonical).toEqual(id("device_id", "d9"));
    const withUser = applyAll(
      [
        [id("anonymous_id", "a1"), id("device_id", "d9")],
        [id("device_id", "d9"), id("user_id", "zed")],
      ],
      LIMITS,
    );
    for (const node of withUser.nodes.values()) expect(node.canonical).toEqual(id("user_id", "zed"));
    expect(withUser.nodes.size).toBe(3);
  });

  test("a link applied again changes nothing", () => {
    const link = [id("user_id", "u1"), id("anonymous_id", "a1")];
    const { nodes } = applyAll([link], LIMITS);
    const again = linkIdentifiers((i) => nodes.get(identifierRef(i)), link, LIMITS);
    expect(again).toEqual({ nodes: [], merged: [], canonical: id("user_id", "u1") });
  });

  test("a shared device cannot fuse two users: the second link is refused with the limit it breaks", () => {
    const { nodes, refused } = applyAll(
      [
        [id("device_id", "shared"), id("user_id", "alice")],
        [id("device_id", "shared"), id("user_id", "bob")],
        [id("anonymous_id", "b-cookie"), id("user_id", "bob")],
      ],
      LIMITS,
    );
    expect(refused).toEqual([
      "identity limit: linking would give one person 2 user_id (limit 1): user_id:alice, user_id:bob",
    ]);
    expect(nodes.get("device_id:shared")!.members).toEqual([id("user_id", "alice"), id("device_id", "shared")]);
    expect(nodes.get("anonymous_id:b-cookie")!.members).toEqual([id("user_id", "bob"), id("anonymous_id", "b-cookie")]);
  });

  test("a merge of two groups that together pass a type's limit is refused whole, and each group stays as it was", () => {
    const links = [0, 1, 2].map((n) => [id("anonymous_id", `x${n}`), id("device_id", "dx")]);
    const others = [3, 4, 5].map((n) => [id("anonymous_id", `y${n}`), id("device_id", "dy")]);
    const { nodes, refused } = applyAll([...links, ...others, [id("device_id", "dx"), id("device_id", "dy")]], LIMITS);
    expect(refused).toEqual([
      "identity limit: linking would give one person 6 anonymous_id (limit 5): anonymous_id:x0, anonymous_id:x1, anonymous_id:x2, anonymous_id:y3, anonymous_id:y4, ...",
    ]);
    expect(nodes.get("device_id:dx")!.members.length).toBe(4);
    expect(nodes.get("device_id:dy")!.members.length).toBe(4);
  });

  test("whatever the order, no group ever holds more of a type than its limit", () => {
    let groups = 0;
    fc.assert(
      fc.property(linksArb, (links) => {
        const { nodes } = applyAll(links, LIMITS);
        for (const node of nodes.values()) {
          groups++;
          for (const [type, limit] of Object.entries(LIMITS))
            expect(node.members.filter((m) => m.type === type).length).toBeLessThanOrEqual(limit);
          expect(node.members.map(identifierRef)).toContain(identifierRef(node.canonical));
        }
      }),
      { numRuns: 300 },
    );
    expect(groups).toBeGreaterThan(0);
  });

  test("a merge names the canonical ids it retires", () => {
    const { nodes } = applyAll([[id("anonymous_id", "a1"), id("device_id", "d1")]], LIMITS);
    const result = linkIdentifiers(
      (i) => nodes.get(identifierRef(i)),
      [id("device_id", "d1"), id("user_id", "u1")],
      LIMITS,
    );
    expect(result).toMatchObject({ canonical: id("user_id", "u1"), merged: [id("device_id", "d1")] });
  });
});
