import { Admin } from "@platformatic/kafka";
import type { Config } from "../config.ts";

/** What a broker answers for a topic id it does not keep (Kafka before 2.8, some Kafka-API brokers). */
const NO_TOPIC_ID = "00000000-0000-0000-0000-000000000000";

/**
 * Which incarnation of each topic the broker serves now: `<cluster id>/<topic
 * id>`. A broker whose data was reset has a new cluster id; a topic deleted
 * and made again has a new topic id; either way offsets applied from the old
 * one mean nothing in the new one. Where the broker keeps no topic ids, the
 * cluster id alone is the incarnation.
 *
 * kafkajs speaks Metadata up to v6, before topic ids (v10), so this one
 * question goes through @platformatic/kafka.
 */
export async function topicIncarnations(config: Config, topics: readonly string[]): Promise<Map<string, string>> {
  const admin = new Admin({
    clientId: `${config.KAFKA_CLIENT_ID}-incarnations`,
    bootstrapBrokers: config.KAFKA_BROKERS,
    timeout: 10_000,
  });
  try {
    const metadata = await admin.metadata({ topics: [...topics] });
    return new Map(
      topics.map((topic) => {
        const id = metadata.topics.get(topic)?.id;
        if (id === undefined) throw new Error(`topic ${topic} does not exist on the broker (cluster ${metadata.id})`);
        return [topic, id === NO_TOPIC_ID ? metadata.id : `${metadata.id}/${id}`];
      }),
    );
  } finally {
    await admin.close();
  }
}
