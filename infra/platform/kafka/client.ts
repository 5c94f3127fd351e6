import { type Admin, Kafka, type KafkaConfig, type LogEntry, logLevel } from "kafkajs";
import type { Config } from "../config.ts";
import { logger } from "../log.ts";
import "./request-queue.ts";

const log = logger("kafka");

const levels: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/**
 * kafkajs is chatty: its INFO (every join/leave) goes to debug, and so do
 * its per-connection "Response ..." errors, which the request that got them
 * retries or throws anyway (a broker that has just started answers "not the
 * leader" for a few seconds).
 */
const logCreator =
  () =>
  ({ level, log: entry }: LogEntry) => {
    const { message, ...fields } = entry;
    const name = levels[level] ?? "info";
    const quiet = name === "info" || (name === "error" && message.startsWith("Response "));
    log[quiet ? "debug" : name](message, fields);
  };

/**
 * What a consumer reading a backlog fetches at once (kafkajs' defaults are
 * 1 MiB per partition, 10 MiB a fetch): a worker's batches are then up to
 * ~20,000 records of a few hundred bytes (WORKER_MAX_BATCH folds one as one
 * chunk), so a chunk coalesces more changes per key, flushes less often, and
 * a catch-up takes fewer fetch cycles. Live traffic fetches what is there.
 */
export const CATCH_UP_FETCH = { maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 };

/** The one place a kafkajs client is built. */
export function createKafka(config: Config, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.WARN,
    logCreator,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    ...overrides,
  });
}

/** An admin client for the length of `use`, disconnected after whatever happens. */
export async function withAdmin<T>(config: Config, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}
