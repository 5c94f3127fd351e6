import type { Summary } from "./stats.ts";

/** One figure of the chart: a latency beside its baseline or target, or a throughput beside its baseline. */
export type ChartEntry =
  | { figure: string; latency: Summary; baseline?: Summary; baselineLabel?: string; targetP95?: number }
  | { figure: string; rate: number; baselineRate: number; baselineLabel: string; targetRatio?: number };

const WIDTH = 1100;
const LABEL = 300;
const ROW = 22;
const PLOT = WIDTH - LABEL - 170;
const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fixed = (v: number) => (v < 10 ? v.toFixed(2) : v < 1000 ? v.toFixed(1) : v.toFixed(0));

/** Latencies on a log scale from 0.1 ms to 10 s. */
const logX = (ms: number) => LABEL + (PLOT * (Math.log10(Math.min(Math.max(ms, 0.1), 10_000)) + 1)) / 5;

function rangeBar(y: number, s: Summary, colour: string, label: string): string {
  if (s.count === 0) return "";
  const [x50, x95, x99, xMax] = [s.p50, s.p95, s.p99, s.max].map(logX) as [number, number, number, number];
  return [
    `<line x1="${x99}" y1="${y + 7}" x2="${xMax}" y2="${y + 7}" stroke="${colour}" stroke-dasharray="2 2"/>`,
    `<rect x="${x50}" y="${y + 2}" width="${Math.max(2, x99 - x50)}" height="10" fill="${colour}" opacity="0.75"/>`,
    `<line x1="${x95}" y1="${y}" x2="${x95}" y2="${y + 14}" stroke="#000"/>`,
    `<text x="${LABEL + PLOT + 8}" y="${y + 11}" font-size="10">${xml(label)} p50 ${fixed(s.p50)} · p95 ${fixed(s.p95)} · p99 ${fixed(s.p99)}</text>`,
  ].join("");
}

/**
 * The bench's chart as SVG: every latency as a bar from p50 to p99 (a tick
 * at p95, dashes to the max) on a log scale, under it its baseline in grey
 * and its p95 target in red; every throughput as its ratio to the baseline.
 */
export function benchChart(entries: ChartEntry[], title: string): string {
  const parts: string[] = [];
  let y = 40;
  const latencies = entries.filter((e) => "latency" in e);
  const rates = entries.filter((e) => "rate" in e);
  if (latencies.length > 0) {
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">Latency, ms (log scale)</text>`);
    y += 10;
    for (const tick of [0.1, 1, 10, 100, 1000, 10_000])
      parts.push(
        `<line x1="${logX(tick)}" y1="${y}" x2="${logX(tick)}" y2="${y + latencies.length * ROW * 2 + 6}" stroke="#ddd"/>`,
        `<text x="${logX(tick)}" y="${y}" font-size="9" text-anchor="middle" fill="#666">${tick}</text>`,
      );
    y += 8;
    for (const e of latencies) {
      if (!("latency" in e)) continue;
      parts.push(`<text x="10" y="${y + 11}" font-size="11">${xml(e.figure)}</text>`);
      parts.push(rangeBar(y, e.latency, "#2f6fd6", "value"));
      if (e.targetP95 !== undefined)
        parts.push(
          `<line x1="${logX(e.targetP95)}" y1="${y - 2}" x2="${logX(e.targetP95)}" y2="${y + ROW + 12}" stroke="#c0392b" stroke-width="2"/>`,
        );
      if (e.baseline) parts.push(rangeBar(y + ROW, e.baseline, "#999", e.baselineLabel ?? "baseline"));
      else if (e.targetP95 !== undefined)
        parts.push(
          `<text x="${LABEL + PLOT + 8}" y="${y + ROW + 11}" font-size="10" fill="#c0392b">target p95 ${e.targetP95}</text>`,
        );
      y += ROW * 2;
    }
    y += 20;
  }
  if (rates.length > 0) {
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">Throughput, as a share of its baseline</text>`);
    y += 12;
    const top = Math.max(1.2, ...rates.map((e) => ("rate" in e ? e.rate / e.baselineRate : 0)));
    const linX = (ratio: number) => LABEL + (PLOT * ratio) / top;
    parts.push(
      `<line x1="${linX(1)}" y1="${y}" x2="${linX(1)}" y2="${y + rates.length * ROW}" stroke="#999" stroke-dasharray="3 3"/>`,
    );
    for (const e of rates) {
      if (!("rate" in e)) continue;
      const ratio = e.rate / e.baselineRate;
      parts.push(
        `<text x="10" y="${y + 11}" font-size="11">${xml(e.figure)}</text>`,
        `<rect x="${LABEL}" y="${y + 2}" width="${Math.max(1, linX(ratio) - LABEL)}" height="12" fill="#2f6fd6" opacity="0.75"/>`,
        `<text x="${LABEL + PLOT + 8}" y="${y + 12}" font-size="10">${ratio.toFixed(2)}x of ${xml(e.baselineLabel)} (${fixed(e.rate)} vs ${fixed(e.baselineRate)}/s)</text>`,
      );
      if (e.targetRatio !== undefined)
        parts.push(
          `<line x1="${linX(e.targetRatio)}" y1="${y}" x2="${linX(e.targetRatio)}" y2="${y + 16}" stroke="#c0392b" stroke-width="2"/>`,
        );
      y += ROW;
    }
    y += 10;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" font-family="sans-serif">`,
    `<title>${xml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${xml(title)}</text>`,
    ...parts,
    "</svg>",
  ].join("\n");
}
