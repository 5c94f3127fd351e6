import type { User } from "../../infra/platform/contracts/social.ts";
import { COUNTS, type CountDelta, type CountName } from "../../infra/platform/contracts/userinfo.ts";
import { applyOnce } from "../runtime/source-offsets.ts";
import type { Folded } from "../runtime/worker.ts";
import { type UserInfoState, userInfoDocument } from "./view.ts";

export const zeroCounts = (): Record<CountName, number> =>
  Object.fromEntries(COUNTS.map((c) => [c, 0])) as Record<CountName, number>;

/** A changelog record (null user: a tombstone) or a count change from stage 1. */
export type UserInfoEvent = { kind: "user"; user_id: string; user: User | null } | { kind: "delta"; delta: CountDelta };

/**
 * Stage 2: join users with their counts. A changelog record replaces the
 * user's fields whole (a user who reappears starts from their new fields); a
 * tombstone hides the user (404, gone from search) but keeps the counts, as
 * the edges behind them still exist. Counts that arrive before the user are
 * kept and shown once the user exists; none goes below zero. Every change of
 * the document is also emitted to `changelogTopic` (userinfo.changelog; a
 * tombstone on delete).
 */
export const userInfoFold =
  (changelogTopic: string) =>
  (state: UserInfoState | undefined, input: UserInfoEvent): Folded<UserInfoState> => {
    const current: UserInfoState = state ?? { user: null, counts: zeroCounts(), applied: {} };
    let next: UserInfoState;
    let userId: string;
    if (input.kind === "user") {
      userId = input.user_id;
      if (input.user === null && current.user === null) return { state: state ?? null };
      next = { ...current, user: input.user };
    } else {
      const { delta } = input;
      userId = delta.user_id;
      const applied = applyOnce(current.applied, delta.source, delta.source_offset);
      if (!applied) return { state: state ?? null };
      const counts = { ...current.counts };
      for (const count of COUNTS) counts[count] = Math.max(0, counts[count] + (delta.changes[count] ?? 0));
      next = { ...current, counts, applied };
    }
    const before = userInfoDocument(current);
    const after = userInfoDocument(next);
    const documentChanged = JSON.stringify(before) !== JSON.stringify(after);
    return {
      state: next,
      emit: documentChanged ? [{ topic: changelogTopic, key: userId, value: after }] : [],
    };
  };
