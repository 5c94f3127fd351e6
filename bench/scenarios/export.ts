import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKafka } from "../../infra/platform/kafka/client.ts";
import { createProducer } from "../../infra/platform/kafka/producer.ts";
import type { Bench } from "../lib/context.ts";
import { runJson } from "../lib/harness.ts";

/** Warehouse export: 1M click events from a topic of their own, beside a raw COPY of the same rows from a file. */
export async function exportScenario(bench: Bench) {
  const { quick, config, env, rows, report } = bench;
  const { createBenchTopic } = bench.tools;
  const events = quick ? 200_000 : 1_000_000;
  const topic = `bench.export-${Date.now().toString(36)}`;
  await createBenchTopic(topic, "bench export source");
  const producer = await createProducer(config);
  const now = Date.now();
  for (let i = 0; i < events; i += 10_000) {
    await producer.send(
      Array.from({ length: Math.min(10_000, events - i) }, (_, j) => {
        const n = i + j;
        const user = `bx-${n % 50_000}`;
        const value = {
          click_id: `bx-${n}`,
          user_id: user,
          product_id: `p${n % 2000}`,
          occurred_at: new Date(now - (n % 172_800) * 1000).toISOString(),
          product: `Product ${n % 2000}`,
          price: (n % 10_000) / 100,
          url: `https://shop.example.com/p/${n % 2000}`,
          user_agent: "Mozilla/5.0 (X11; Linux x86_64)",
          ip_address: "10.0.0.1",
        };
        return { topic, key: user, value };
      }),
    );
  }
  await producer.disconnect();
  console.log(`export: ${events} click events on ${topic} -> warehouse, then COPY of the same rows from a file`);
  const file = join(tmpdir(), `cdp-bench-export-${process.pid}.csv`);
  try {
    const out = await runJson<{ rows: number; exportSeconds: number; copyRows: number; copySeconds: number }>(
      ["bench/export-run.ts", "--topic", topic, "--file", file],
      env,
    );
    const exportRate = out.rows / out.exportSeconds;
    const copyRate = out.copyRows / out.copySeconds;
    rows.push({
      figure: "warehouse load rows/s (export)",
      value: `${exportRate.toFixed(0)} (${out.rows} rows, ${out.exportSeconds.toFixed(1)} s)`,
      baseline: `${copyRate.toFixed(0)} (COPY from a file, ${out.copyRows} rows, ${out.copySeconds.toFixed(1)} s)`,
      ratio: `${(exportRate / copyRate).toFixed(2)}x (target >= 0.5x)`,
    });
    bench.chart.push({
      figure: "warehouse load (export)",
      rate: exportRate,
      baselineRate: copyRate,
      baselineLabel: "COPY from a file",
      targetRatio: 0.5,
    });
    report.warehouseExport = { events, ...out, exportRowsPerSecond: exportRate, copyRowsPerSecond: copyRate };
  } finally {
    const admin = createKafka(config).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    await Bun.file(file)
      .delete()
      .catch(() => {});
  }
}
