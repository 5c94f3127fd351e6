import { Kafka, logLevel, type KafkaConfig, type LogEntry } from "kafkajs";
import type { Config } from "../config.ts";
import { logger } from "../log.ts";

const log = logger("kafka");

const levels: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

// kafkajs is chatty at INFO (every join/leave); keep its INFO at debug.
const logCreator = () => ({ level, log: entry }: LogEntry) => {
  const { message, ...fields } = entry;
  const name = levels[level] ?? "info";
  log[name === "info" ? "debug" : name](message, fields);
};

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
