import type { ExportProgress, ExportSummary } from "./export.ts";

/**
 * How a run reports: a bar redrawn in place on a terminal (events, rate,
 * ETA), a plain line every few seconds otherwise (logs, CI).
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr, everyMs = 5000) {
  let lastLine = 0;
  return (p: ExportProgress) => {
    const rate = p.secondsElapsed > 0 ? p.loaded / p.secondsElapsed : 0;
    const eta = rate > 0 ? (p.total - p.loaded) / rate : Number.NaN;
    const stats = `${p.loaded}/${p.total} events, ${rate.toFixed(0)}/s, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : "-"}`;
    if (stream.isTTY) {
      const width = 30;
      const done = p.total > 0 ? Math.round((p.loaded / p.total) * width) : width;
      stream.write(`\r[${"#".repeat(done)}${".".repeat(width - done)}] ${stats}   `);
      if (p.loaded >= p.total) stream.write("\n");
    } else if (Date.now() - lastLine >= everyMs || p.loaded >= p.total) {
      lastLine = Date.now();
      stream.write(`export: ${stats}\n`);
    }
  };
}

export function describeSummary(summary: ExportSummary): string {
  const lines = Object.entries(summary.tables).map(
    ([table, c]) =>
      `  ${table.padEnd(20)} ${String(c.loaded).padStart(9)} loaded ${String(c.rejected).padStart(6)} rejected`,
  );
  return [
    `export finished in ${summary.seconds.toFixed(1)}s`,
    ...lines,
    `  partitions created: ${summary.partitionsCreated.length ? summary.partitionsCreated.join(", ") : "none"}`,
    `  partitions dropped: ${summary.partitionsDropped.length ? summary.partitionsDropped.join(", ") : "none"}`,
  ].join("\n");
}
