import { afterAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { serveStatus } from "../workers/runtime/status.ts";
import { eventually, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * `/metrics` of the API and of a worker process, scraped over HTTP as
 * Prometheus would: request durations by route and status, records
 * produced, a worker's records in and out, its latencies, its group's lag.
 */
const config = testConfig();
const deps = await connectApiDependencies(config);
const app = createApp(deps);
const run = unique("metrics");
const running: RunningWorker[] = [];
const status = serveStatus(running, 0);
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop()));
  await status.stop(true);
  await closeApiDependencies(deps);
});

/** One sample's value from the exposition text: the metric name and exactly these labels. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of text.split("\n")) {
    const match = line.match(/^([a-z_]+)\{(.*)\} (\S+)$/);
    if (!match || match[1] !== name) continue;
    const got = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (wanted.every(([k, v]) => got[k] === v) && Object.keys(got).length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

describe("/metrics", () => {
  test("the API counts requests by route pattern and status, and the records it produced", async () => {
    const { key } = await createApiKey(drizzle(deps.sql), `${run}-p`);
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    for (let i = 0; i < 3; i++)
      expect((await app.request(`/v1/profiles/${run}-nobody-${i}`, { headers })).status).toBe(404);
    const events = Array.from({ length: 5 }, (_, i) => ({
      event_id: `${run}-e${i}`,
      type: "page_view",
      user_id: `${run}-u${i}`,
      partner_id: `${run}-p`,
      occurred_at: new Date().toISOString(),
    }));
    expect((await app.request("/v1/events", { method: "POST", headers, body: JSON.stringify(events) })).status).toBe(
      202,
    );
    const response = await app.request("/metrics");
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    const lookups = sample(text, "http_request_duration_seconds_count", {
      method: "GET",
      route: "/v1/profiles/:userId",
      status: "404",
    });
    expect(lookups).toBeGreaterThanOrEqual(3);
    expect(
      sample(text, "http_request_duration_seconds_count", { method: "POST", route: "/v1/events", status: "202" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, "kafka_records_produced_total", { topic: TOPIC.clickstream })).toBeGreaterThanOrEqual(5);
    expect(text).toContain("# TYPE kafka_produce_duration_seconds histogram");
    expect(text).toContain("process_cpu_seconds_total");
  });

  test("a worker process reports records in and out, latencies and its group's lag, which falls to 0", async () => {
    const name = `${run}-profiles`;
    await skipToEnd(config, name, [TOPIC.clickstream, TOPIC.identityChanges]);
    running.push(await runWorker(profileWorker(config, { name }), config));
    const { key } = await createApiKey(drizzle(deps.sql), `${run}-w`);
    const events = Array.from({ length: 40 }, (_, i) => ({
      event_id: `${run}-w${i}`,
      type: i % 4 === 0 ? "add_to_cart" : "page_view",
      user_id: `${run}-wu${i % 5}`,
      partner_id: `${run}-w`,
      occurred_at: new Date().toISOString(),
    }));
    const posted = await app.request("/v1/events", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(events),
    });
    expect(posted.status).toBe(202);
    const scrape = async () => (await fetch(`http://127.0.0.1:${status.port}/metrics`)).text();
    const text = await eventually("the worker to count all 40 records", async () => {
      const now = await scrape();
      return (sample(now, "worker_records_in_total", { worker: name }) ?? 0) >= 40 ? now : undefined;
    });
    expect(sample(text, "worker_records_in_total", { worker: name })).toBe(40);
    // Each add_to_cart emits one push action.
    expect(sample(text, "worker_records_out_total", { worker: name })).toBe(10);
    expect(sample(text, "worker_dead_lettered_total", { worker: name })).toBe(0);
    for (const histogram of [
      "worker_fold_duration_seconds",
      "worker_flush_duration_seconds",
      "worker_commit_duration_seconds",
      "worker_event_to_view_seconds",
    ]) {
      expect(sample(text, `${histogram}_count`, { worker: name }), histogram).toBeGreaterThan(0);
    }
    const lags = [
      ...text.matchAll(
        new RegExp(
          `^kafka_consumergroup_lag\\{consumergroup="${config.CONSUMER_GROUP_PREFIX}${name}",topic="${TOPIC.clickstream.replaceAll(".", "\\.")}",partition="\\d+"\\} (\\d+)$`,
          "gm",
        ),
      ),
    ];
    expect(lags.length).toBeGreaterThan(0);
    expect(lags.map((m) => Number(m[1]))).toEqual(lags.map(() => 0));
  });
});
