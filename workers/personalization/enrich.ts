import type {
  Beacon,
  CapturedUser,
  EnrichedBeacon,
  EnrichedInteraction,
  Interaction,
} from "../../infra/platform/contracts/content.ts";
import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import type { Folded, InputRecord } from "../runtime/worker.ts";

export type EnrichEvent =
  | { kind: "user"; userId: string; user: CapturedUser | null }
  | { kind: "beacon"; beacon: Beacon }
  | { kind: "interaction"; interaction: Interaction };

export type EnrichTopics = {
  users: string;
  beacons: string;
  interactions: string;
  activeUsers: string;
  interactionsEnriched: string;
  impressions: string;
};

export const userIdOf = (event: EnrichEvent) =>
  event.kind === "user" ? event.userId : event.kind === "beacon" ? event.beacon.user_id : event.interaction.user_id;

/**
 * The stream-table join (SPEC §2.5) as a fold keyed by user_id: `users.cdc`
 * records replace the user's row in the table (a tombstone deletes it); each
 * beacon or interaction goes out with the row as it is when the event is
 * folded, or with `user: null` when there is none (a left join). Liked or
 * shared interactions also go to the impressions stream. Every output
 * carries the event's source partition and offset, the id downstream
 * stages deduplicate by.
 */
export function enrichFold(topics: EnrichTopics) {
  return (
    state: CapturedUser | undefined,
    event: EnrichEvent,
    record: Pick<InputRecord, "partition" | "offset">,
  ): Folded<CapturedUser> => {
    if (event.kind === "user") return { state: event.user };
    const user = state ?? null;
    const source = { source_partition: record.partition, source_offset: record.offset };
    if (event.kind === "beacon") {
      const value: EnrichedBeacon = { ...event.beacon, user, ...source };
      return { state: user, emit: [{ topic: topics.activeUsers, key: value.user_id, value }] };
    }
    const value: EnrichedInteraction = { ...event.interaction, user, ...source };
    const emit: OutRecord[] = [{ topic: topics.interactionsEnriched, key: value.user_id, value }];
    if (value.liked || value.shared) emit.push({ topic: topics.impressions, key: value.user_id, value });
    return { state: user, emit };
  };
}
