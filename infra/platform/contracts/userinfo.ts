import * as v from "valibot";
import { contract, Id, Offset } from "./fields.ts";

export const COUNTS = ["tweets", "following", "followers", "likes"] as const;
export type CountName = (typeof COUNTS)[number];

const Step = v.picklist([-1, 1], "expected -1 or 1");

/**
 * `userinfo.deltas`, key user_id: the repartition topic. A change of a
 * tweet, follow or like edge becomes count changes for the users they belong
 * to, each tagged with the source record it came from, so a replayed source
 * record is recognised and applied once.
 */
export const CountDelta = contract({
  user_id: Id,
  changes: v.object({
    tweets: v.optional(Step),
    following: v.optional(Step),
    followers: v.optional(Step),
    likes: v.optional(Step),
  }),
  /** `<topic>:<partition>` of the source record. */
  source: v.pipe(v.string(), v.regex(/^[\w.-]+:\d+$/, "expected <topic>:<partition>")),
  source_offset: Offset,
});
export type CountDelta = v.InferOutput<typeof CountDelta>;
