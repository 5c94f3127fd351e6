import * as v from "valibot";
import { contract, Id, optionalText, storableText, Timestamp } from "./fields.ts";

/** The member welcome pipeline (SPEC §2.4): signups captured from Postgres `members`, augmented, emailed. */

// Deliberately plain: one @, no spaces, a dot in the domain; SMTP servers judge the rest.
const Email = v.pipe(
  v.string("expected an email address"),
  v.nonEmpty("is empty: the member has no email address"),
  v.maxLength(254, "must be at most 254 characters"),
  v.regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, "is not an email address"),
  storableText,
);

/** `members.new`, key the member id: a row inserted into `members`, as captured. */
export const MemberSignup = contract({
  id: Id,
  email: Email,
  name: optionalText(256),
  organization_id: optionalText(128),
  created_at: Timestamp,
});
export type MemberSignup = v.InferOutput<typeof MemberSignup>;

/** `members.augmented`, key the member id: the signup with its subscriber key. */
export const AugmentedMember = contract({ ...MemberSignup.entries, subscriber_key: Id });
export type AugmentedMember = v.InferOutput<typeof AugmentedMember>;
