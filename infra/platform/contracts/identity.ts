import * as v from "valibot";
import { contract, Id, Timestamp } from "./fields.ts";

/**
 * The identifiers a clickstream event may carry (SPEC §2.7), in the order a
 * person's canonical id prefers them: a group's canonical id is its member
 * of the first type present, and among those the smallest value, so it
 * depends only on who is in the group, never on the order links arrived.
 */
export const IDENTIFIER_TYPES = ["user_id", "email_hash", "device_id", "anonymous_id"] as const;
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

export type Identifier = { type: IdentifierType; value: string };

/** A linked identifier's node in its partner's identity graph: the whole group it belongs to. */
export type IdentityNode = {
  /** The group's first member in canonical order: fixed by who is in it, whatever order the links came in. */
  canonical: Identifier;
  /** Every identifier of the group, in canonical order. */
  members: Identifier[];
};

export const IdentifierTypeSchema = v.picklist(IDENTIFIER_TYPES, `expected one of ${IDENTIFIER_TYPES.join(", ")}`);

export const IdentifierSchema = contract({ type: IdentifierTypeSchema, value: Id });

/** A hashed email, never the address itself: the SHA-256 of the trimmed, lower-cased address, in lower-case hex. */
export const EmailHash = v.pipe(
  v.string("expected a string"),
  v.regex(/^[0-9a-f]{64}$/, "expected the lower-case hex SHA-256 of the email address (64 characters)"),
);

/**
 * `identity.links`, key partner_id: the identifiers one `identify` event
 * says belong to one person (SPEC §2.7). Keyed by partner so each partner's
 * graph changes are applied in one order, by one partition.
 */
export const IdentityLink = contract({
  event_id: Id,
  partner_id: Id,
  occurred_at: Timestamp,
  identifiers: v.pipe(
    v.array(IdentifierSchema, "expected an array of identifiers"),
    v.minLength(2, "a link needs at least 2 identifiers"),
    v.maxLength(IDENTIFIER_TYPES.length, `at most ${IDENTIFIER_TYPES.length} identifiers`),
  ),
});
export type IdentityLink = v.InferOutput<typeof IdentityLink>;

/**
 * `identity.changes`, key the identifier's value (as clickstream.events is
 * keyed, so a profile and its identifier's changes meet in one partition):
 * the person an identifier now belongs to, after a link.
 */
export const IdentityChange = contract({
  event_id: Id,
  partner_id: Id,
  identifier: IdentifierSchema,
  canonical: IdentifierSchema,
  members: v.pipe(
    v.array(IdentifierSchema, "expected an array of identifiers"),
    v.maxLength(10_000, "at most 10000 identifiers"),
  ),
});
export type IdentityChange = v.InferOutput<typeof IdentityChange>;

/** The identifiers an event carries, in canonical preference order. */
export const identifiersOf = (event: Partial<Record<IdentifierType, string | null>>): Identifier[] =>
  IDENTIFIER_TYPES.flatMap((type) => {
    const value = event[type];
    return value == null ? [] : [{ type, value }];
  });

/** An identifier as one string (`type:value`), for sets and maps. */
export const identifierRef = ({ type, value }: Identifier) => `${type}:${value}`;

/** Canonical preference: type order first, then the value. */
export function compareIdentifiers(a: Identifier, b: Identifier): number {
  const byType = IDENTIFIER_TYPES.indexOf(a.type) - IDENTIFIER_TYPES.indexOf(b.type);
  if (byType !== 0) return byType;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
