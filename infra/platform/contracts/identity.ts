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

export const IdentifierTypeSchema = v.picklist(IDENTIFIER_TYPES, `expected one of ${IDENTIFIER_TYPES.join(", ")}`);

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
    v.array(contract({ type: IdentifierTypeSchema, value: Id }), "expected an array of identifiers"),
    v.minLength(2, "a link needs at least 2 identifiers"),
    v.maxLength(IDENTIFIER_TYPES.length, `at most ${IDENTIFIER_TYPES.length} identifiers`),
  ),
});
export type IdentityLink = v.InferOutput<typeof IdentityLink>;

/** The identifiers an event carries, in canonical preference order. */
export const identifiersOf = (event: Partial<Record<IdentifierType, string | null>>): Identifier[] =>
  IDENTIFIER_TYPES.flatMap((type) => {
    const value = event[type];
    return value == null ? [] : [{ type, value }];
  });

/** Canonical preference: type order first, then the value. */
export function compareIdentifiers(a: Identifier, b: Identifier): number {
  const byType = IDENTIFIER_TYPES.indexOf(a.type) - IDENTIFIER_TYPES.indexOf(b.type);
  if (byType !== 0) return byType;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
