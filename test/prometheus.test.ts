import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningApi, startApi } from "../api/server.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { profileWorker } from "../workers/profiles/worker.ts";
import { type RunningWorker, runWorker } from "../workers/runtime/runner.ts";
import { serveStatus } from "../workers/runtime/status.ts";
import { eventually, ROOT, runCommand, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * The alert rules and the dashboard against the real Prometheus from
 * Debian's packages: promtool checks the config and runs the rules' unit
 * tests; then a Prometheus scrapes a running API and worker, the lag is
 * queried, and every dashboard panel's expression is run.
 */
const PROMETHEUS = join(ROOT, "infra", "tools", "prometheus");
const config = { ...testConfig(), PORT: 19_000 + Math.floor(Math.random() * 400) };
const run = unique("prom");
const promPort = 19_500 + Math.floor(Math.random() * 400);
const data = mkdtempSync(join(tmpdir(), "cdp-prometheus-"));
let api: RunningApi | undefined;
let worker: RunningWorker | undefined;
let status: ReturnType<typeof serveStatus> | undefined;
let prometheus: ReturnType<typeof Bun.spawn> | undefined;
afterAll(async () => {
  prometheus?.kill("SIGTERM");
  await prometheus?.exited;
  await worker?.stop();
  await status?.stop(true);
  await api?.stop();
  rmSync(data, { recursive: true, force: true });
});

type QueryAnswer = {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
};
const query = async (expr: string) =>
  (await (
    await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`)
  ).json()) as QueryAnswer;

describe("Prometheus config, alert rules and dashboard", () => {
  test("promtool: the config and its rules are valid, and the rules' unit tests pass", async () => {
    const checked = await runCommand(["promtool", "check", "config", join(PROMETHEUS, "prometheus.yml")]);
    expect({ code: checked.code, out: checked.stdout + checked.stderr }).toMatchObject({
      code: 0,
      out: expect.stringContaining("SUCCESS: 6 rules found"),
    });
    const tested = await runCommand(["promtool", "test", "rules", join(PROMETHEUS, "rules.test.yml")]);
    expect({ code: tested.code, out: tested.stdout + tested.stderr }).toMatchObject({
      code: 0,
      out: expect.stringContaining("SUCCESS"),
    });
    console.log(
      `promtool: ${checked.stdout.trim().split("\n").at(-1)}; rules unit tests: ${tested.stdout.trim().split("\n").at(-1)?.trim()}`,
    );
  });

  test("a real Prometheus scrapes the API and a worker: the lag is there, and every dashboard panel's query runs", async () => {
    api = await startApi(config);
    const name = `${run}-profiles`;
    await skipToEnd(config, name, [TOPIC.clickstream, TOPIC.identityChanges]);
    worker = await runWorker(profileWorker(config, { name }), config);
    status = serveStatus([worker], 0);
    writeFileSync(
      join(data, "prometheus.yml"),
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        `rule_files: ["${join(PROMETHEUS, "rules.yml")}"]`,
        "scrape_configs:",
        `  - { job_name: api, static_configs: [{ targets: ["127.0.0.1:${config.PORT}"] }] }`,
        `  - { job_name: workers, static_configs: [{ targets: ["127.0.0.1:${status.port}"] }] }`,
      ].join("\n"),
    );
    prometheus = Bun.spawn(
      [
        "prometheus",
        `--config.file=${join(data, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(data, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    await eventually(
      "Prometheus to be ready",
      async () => (await fetch(`http://127.0.0.1:${promPort}/-/ready`).catch(() => undefined))?.ok,
      60_000,
    );

    const producer = await createProducer(config);
    await producer.send(
      Array.from({ length: 30 }, (_, i) => ({
        topic: TOPIC.clickstream,
        key: `${run}-u${i % 3}`,
        value: {
          event_id: `${run}-e${i}`,
          type: "page_view",
          user_id: `${run}-u${i % 3}`,
          partner_id: `${run}-p`,
          occurred_at: new Date().toISOString(),
        },
      })),
    );
    await producer.disconnect();
    for (let i = 0; i < 5; i++) await fetch(`http://127.0.0.1:${config.PORT}/healthz`);

    const group = `${config.CONSUMER_GROUP_PREFIX}${name}`;
    const lag = await eventually(
      "the group's lag in Prometheus",
      async () => {
        const answer = await query(`kafka_consumergroup_lag{consumergroup="${group}"}`);
        return (answer.data?.result.length ?? 0) > 0 ? answer.data!.result : undefined;
      },
      60_000,
    );
    expect(lag.every((s) => s.metric.topic === TOPIC.clickstream)).toBe(true);
    expect(lag.length).toBeGreaterThan(0);

    const dashboard = JSON.parse(readFileSync(join(ROOT, "infra", "tools", "grafana", "dashboard.json"), "utf8")) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
    expect(targets.length).toBeGreaterThanOrEqual(10);
    // Rates need two scrapes of a counter that moved: give them a few seconds.
    await Bun.sleep(4000);
    let withData = 0;
    for (const { title, expr } of targets) {
      const answer = await query(expr);
      expect({ title, status: answer.status, error: answer.error }).toEqual({
        title,
        status: "success",
        error: undefined,
      });
      if ((answer.data?.result.length ?? 0) > 0) withData++;
    }
    console.log(`dashboard: ${targets.length} panel queries run, ${withData} with data from this system`);
    expect(withData).toBeGreaterThanOrEqual(5);
  }, 180_000);
});
