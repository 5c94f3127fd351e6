import type { UserRow } from "../../../db/users.ts";
import type { ACTIONS, Beacon, Interaction } from "../../platform/contracts/content.ts";
import type { OutRecord } from "../../platform/kafka/producer.ts";
import { TOPIC } from "../../platform/topology.ts";
import { random } from "./random.ts";

/** A record to produce, or a user version to write to Postgres `users`. */
export type ContentItem = { kind: "record"; record: OutRecord } | { kind: "user"; user: UserRow };

export type ContentOptions = {
  users: number;
  contents: number;
  seed: number;
  runId: string;
  /** Where the records go (tests use topics of their own). */
  topics?: { beacons: string; interactions: string };
};

const REGIONS = ["eu-west", "eu-north", "us-east", "us-west", "ap-south", "sa-east"];
const GENDERS = ["f", "m", "x"];
const DEVICES = ["ios", "android", "web"];
// Opened most, then clicked and watched, scrolled least.
const ACTION_WEIGHTS: Record<(typeof ACTIONS)[number], number> = {
  opened: 0.5,
  clicked: 0.2,
  watched: 0.2,
  scrolled: 0.1,
};

/**
 * A content app's traffic (SPEC §2.5): beacons and interactions of a user
 * pool on a catalogue where a few items are far more popular than the rest.
 * Every tenth user is not in `users` (the join passes them through with no
 * attributes); now and then a user moves region, a change written to
 * Postgres and captured like any other.
 */
export function contentGenerator({
  users,
  contents,
  seed,
  runId,
  topics = { beacons: TOPIC.beacons, interactions: TOPIC.interactions },
}: ContentOptions) {
  const rand = random(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(rand() * items.length)]!;
  const userId = (i: number) => `${runId}-u${i}`;
  const versions = new Map<number, number>();
  const row = (i: number): UserRow => ({
    user_id: userId(i),
    username: `user${i}`,
    name: `User ${i}`,
    region: REGIONS[(i + (versions.get(i) ?? 0)) % REGIONS.length],
    gender: GENDERS[i % GENDERS.length],
  });
  const known = (i: number) => i % 10 !== 0;

  function action(): Interaction["action"] {
    let r = rand();
    for (const [name, weight] of Object.entries(ACTION_WEIGHTS)) {
      if ((r -= weight) < 0) return name as Interaction["action"];
    }
    return "opened";
  }

  return {
    /** The users that exist before traffic starts. */
    initialUsers: (): UserRow[] =>
      Array.from({ length: users }, (_, i) => i)
        .filter(known)
        .map(row),

    /** The next item, its event time `at` (ms). */
    next(at: number): ContentItem {
      const i = Math.floor(rand() * users);
      const occurred_at = new Date(at).toISOString();
      const r = rand();
      if (r < 0.005 && known(i)) {
        versions.set(i, (versions.get(i) ?? 0) + 1);
        return { kind: "user", user: row(i) };
      }
      if (r < 0.2) {
        const value: Beacon = { user_id: userId(i), occurred_at, device: pick(DEVICES) };
        return { kind: "record", record: { topic: topics.beacons, key: value.user_id, value } };
      }
      const value: Interaction = {
        user_id: userId(i),
        // Cubing skews the pick towards low numbers: a few items get most opens.
        content_id: `${runId}-c${Math.floor(contents * rand() ** 3)}`,
        action: action(),
        occurred_at,
        liked: rand() < 0.1,
        shared: rand() < 0.05,
      };
      return { kind: "record", record: { topic: topics.interactions, key: value.user_id, value } };
    },
  };
}
