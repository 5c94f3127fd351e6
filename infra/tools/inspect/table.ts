/** Rows as an aligned text table with a header, as `kubectl get` prints them. */
export function table(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null ? "-" : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

export const bytes = (n: number | null) =>
  n === null
    ? null
    : n < 1024
      ? `${n} B`
      : n < 1024 ** 2
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${(n / 1024 ** 2).toFixed(1)} MiB`;

/** `--json` prints the data as one JSON document; otherwise the human form. */
export function print<T>(json: boolean, data: T, human: (data: T) => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : human(data));
}
