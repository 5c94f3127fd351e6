import type { Config } from "../config.ts";
import { deadLetterTopic, TOPIC, TOPICS, type TopicId } from "../topology.ts";
import { declaredTopicOf, type InspectedRecord, readRecords } from "./inspect.ts";
import { createProducer } from "./producer.ts";

/** The header a replayed dead letter carries: where in the DLQ it came from. */
export const REPLAYED_FROM = "dlq.replayed_from";

/** A dead letter as people triage it: where it came from, who refused it and why. */
export type DeadLetter = InspectedRecord & {
  source: { topic: string; partition: number | null; offset: string | null };
  reason: string;
  worker: string | null;
  failedAt: string | null;
};

/** Every declared dead-letter topic. */
export const deadLetterTopics = () =>
  (Object.keys(TOPICS) as TopicId[]).filter((id) => TOPICS[id].deadLetters).map((id) => deadLetterTopic(TOPIC[id]));

const sourceOf = (dlq: string) => {
  const declared = declaredTopicOf(dlq);
  if (!declared?.deadLetters)
    throw new Error(`${dlq} is not a declared dead-letter topic; known: ${deadLetterTopics().join(", ")}`);
  return TOPIC[declared.id];
};

export function asDeadLetter(record: InspectedRecord): DeadLetter {
  const h = record.headers;
  const partition = h["dlq.source.partition"];
  return {
    ...record,
    source: {
      topic: h["dlq.source.topic"] ?? sourceOf(record.topic),
      partition: partition === undefined ? null : Number(partition),
      offset: h["dlq.source.offset"] ?? null,
    },
    reason: h["dlq.reason"] ?? "(no reason recorded)",
    worker: h["dlq.worker"] ?? null,
    failedAt: h["dlq.failed_at"] ?? null,
  };
}

/** The dead letters of one topic (or of all), oldest first, at most `limit` per topic. */
export async function listDeadLetters(
  config: Config,
  { topic, limit = 100 }: { topic?: string; limit?: number } = {},
): Promise<DeadLetter[]> {
  const topics = topic ? [topic] : deadLetterTopics();
  for (const t of topics) sourceOf(t);
  const letters: DeadLetter[] = [];
  for (const t of topics)
    await readRecords(config, t, { from: "earliest", limit }, (record) => letters.push(asDeadLetter(record)));
  return letters;
}

/**
 * Send dead letters back to the topic they came from, as they were (key and
 * bytes), marked with where they were replayed from. Safe to repeat: every
 * sink is idempotent, and a record that fails again goes back to the DLQ.
 */
export async function replayDeadLetters(
  config: Config,
  dlq: string,
  which: "all" | { partition: number; offset: string }[],
): Promise<DeadLetter[]> {
  const source = sourceOf(dlq);
  const chosen = (await listDeadLetters(config, { topic: dlq, limit: Number.MAX_SAFE_INTEGER })).filter(
    (d) => which === "all" || which.some((w) => w.partition === d.partition && w.offset === d.offset),
  );
  if (which !== "all" && chosen.length !== which.length) {
    const missing = which.filter((w) => !chosen.some((d) => d.partition === w.partition && d.offset === w.offset));
    throw new Error(`not on ${dlq}: ${missing.map((m) => `${m.partition}:${m.offset}`).join(", ")}`);
  }
  if (chosen.length === 0) return [];
  const producer = await createProducer(config);
  try {
    await producer.send(
      chosen.map((d) => ({
        topic: source,
        key: d.key,
        value: Buffer.from(d.text ?? "", "utf8"),
        headers: { [REPLAYED_FROM]: `${dlq}:${d.partition}:${d.offset}` },
      })),
    );
  } finally {
    await producer.disconnect();
  }
  return chosen;
}
