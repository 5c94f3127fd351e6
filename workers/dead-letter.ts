import type { OutRecord } from "../infra/kafka/producer.ts";
import type { InputRecord } from "./worker.ts";

export const deadLetterTopic = (topic: string) => `${topic}.dlq`;

/**
 * The original bytes and key, unchanged, with why and where from in headers,
 * so a fixed record can be replayed as it was.
 */
export function deadLetter(record: InputRecord, reason: string, worker: string): OutRecord {
  return {
    topic: deadLetterTopic(record.topic),
    key: record.key,
    value: record.value ?? Buffer.alloc(0),
    headers: {
      "dlq.reason": reason,
      "dlq.worker": worker,
      "dlq.source.topic": record.topic,
      "dlq.source.partition": String(record.partition),
      "dlq.source.offset": record.offset,
      "dlq.failed_at": new Date().toISOString(),
    },
  };
}
