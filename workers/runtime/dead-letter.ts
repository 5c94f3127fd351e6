import type { OutRecord } from "../../infra/platform/kafka/producer.ts";
import { deadLetterTopic } from "../../infra/platform/topology.ts";
import type { InputRecord } from "./worker.ts";

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

/**
 * A decoded event a worker gave up on (its retries ran out, or the answer
 * will never change), re-encoded, with why and who in headers.
 */
export function deadLetterEvent(topic: string, key: string, value: unknown, reason: string, worker: string): OutRecord {
  return {
    topic: deadLetterTopic(topic),
    key,
    value,
    headers: { "dlq.reason": reason, "dlq.worker": worker, "dlq.failed_at": new Date().toISOString() },
  };
}
