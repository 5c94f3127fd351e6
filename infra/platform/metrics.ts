import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The Prometheus metrics of a process (the API, a worker process), served
 * at `/metrics`, with the names dashboards for Kafka consumers and HTTP
 * services expect. One registry per process; every metric is declared here.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const httpRequestDuration = new Histogram({
  name: "http_request_duration_seconds",
  help: "HTTP requests by route (the pattern, not the path) and status",
  labelNames: ["method", "route", "status"] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const recordsProduced = new Counter({
  name: "kafka_records_produced_total",
  help: "Records acknowledged by the broker, by topic",
  labelNames: ["topic"] as const,
  registers: [registry],
});

export const produceDuration = new Histogram({
  name: "kafka_produce_duration_seconds",
  help: "From a send to the broker's acknowledgement of all its records",
  buckets: latencyBuckets,
  registers: [registry],
});

export const workerRecordsIn = new Counter({
  name: "worker_records_in_total",
  help: "Records a worker folded (skipped replays aside)",
  labelNames: ["worker"] as const,
  registers: [registry],
});

export const workerRecordsOut = new Counter({
  name: "worker_records_out_total",
  help: "Records a worker's folds emitted (dead letters aside)",
  labelNames: ["worker"] as const,
  registers: [registry],
});

export const workerDeadLettered = new Counter({
  name: "worker_dead_lettered_total",
  help: "Records a worker sent to a dead-letter topic (contract, admission, refused by a sink, late)",
  labelNames: ["worker"] as const,
  registers: [registry],
});

export const workerFoldDuration = new Histogram({
  name: "worker_fold_duration_seconds",
  help: "Folding one chunk of a partition (decode, fold, coalesce)",
  labelNames: ["worker"] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const workerFlushDuration = new Histogram({
  name: "worker_flush_duration_seconds",
  help: "Flushing one chunk: sinks, emitted records, then the state store's atomic commit",
  labelNames: ["worker"] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const workerCommitDuration = new Histogram({
  name: "worker_commit_duration_seconds",
  help: "Committing a chunk's consumer offset",
  labelNames: ["worker"] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const workerFreshness = new Histogram({
  name: "worker_event_to_view_seconds",
  help: "From a record's write to the log to its effects committed by the worker (the newest record of each chunk)",
  labelNames: ["worker"] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const consumerGroupLag = new Gauge({
  name: "kafka_consumergroup_lag",
  help: "Records on a partition after a group's committed offset, as of its last batch",
  labelNames: ["consumergroup", "topic", "partition"] as const,
  registers: [registry],
});

export const exportRowsLoaded = new Counter({
  name: "export_rows_loaded_total",
  help: "Rows the warehouse export loaded, by table",
  labelNames: ["table"] as const,
  registers: [registry],
});

export const exportRowsRejected = new Counter({
  name: "export_rows_rejected_total",
  help: "Records the warehouse export put in a reject table, by table",
  labelNames: ["table"] as const,
  registers: [registry],
});

export const exportLastSuccess = new Gauge({
  name: "export_last_success_timestamp_seconds",
  help: "When the last warehouse export run finished without error (Unix seconds)",
  registers: [registry],
});

/** The registry's text, as `/metrics` answers it. */
export async function metricsResponse(): Promise<Response> {
  return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
}
