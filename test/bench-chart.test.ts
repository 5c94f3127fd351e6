import { describe, expect, test } from "bun:test";
import { benchChart } from "../bench/lib/chart.ts";

/** The bench report's chart (no server): what it draws for a latency and a throughput. */
const summary = (p50: number, p95: number, p99: number, max: number) => ({ count: 100, p50, p95, p99, max, mean: p50 });

describe("bench chart", () => {
  const svg = benchChart(
    [
      { figure: "lookup <@10K/s>", latency: summary(1, 4, 12, 40), baseline: summary(0.3, 0.6, 1, 5), targetP95: 100 },
      { figure: "enrich", rate: 24_000, baselineRate: 380_000, baselineLabel: "a bare consumer", targetRatio: 0.25 },
    ],
    "run & title",
  );

  test("a latency is a bar from p50 to p99 on a log scale, beside its baseline and target", () => {
    const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="10"/g)].map((m) => ({
      from: Number(m[1]),
      width: Number(m[2]),
    }));
    expect(bars.length).toBe(2);
    const [value, baseline] = bars as [{ from: number; width: number }, { from: number; width: number }];
    // p50 1 ms vs 0.3 ms; p99/p50 = 12 vs 3.3: on a log scale the value's bar starts later and is longer.
    expect(value.from).toBeGreaterThan(baseline.from);
    expect(value.width).toBeGreaterThan(baseline.width);
    expect(svg).toContain("p50 1.00 · p95 4.00 · p99 12.0");
    expect(svg).toContain('stroke="#c0392b"');
  });

  test("a throughput is its ratio to the baseline; text is escaped", () => {
    expect(svg).toContain("0.06x of a bare consumer (24000 vs 380000/s)");
    expect(svg).toContain("lookup &lt;@10K/s&gt;");
    expect(svg).toContain("run &amp; title");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });
});
