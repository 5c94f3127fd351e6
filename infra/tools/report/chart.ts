import type { DailyRow } from "../../../db/report.ts";

const METRICS = [
  ["sessions", "sessions"],
  ["users", "users"],
  ["new_users", "new users"],
  ["purchases", "purchases"],
  ["revenue", "revenue"],
] as const satisfies readonly (readonly [keyof DailyRow, string])[];

const WIDTH = 900;
const LABEL = 260;
const ROW = 16;
const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const shown = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

/**
 * The daily report as SVG: for each figure, one bar per partner and day,
 * scaled to the figure's largest value, with the number beside it.
 */
export function reportChart(rows: readonly DailyRow[], title: string): string {
  const parts: string[] = [`<text x="10" y="24" font-size="15" font-weight="bold">${xml(title)}</text>`];
  let y = 50;
  for (const [metric, label] of METRICS) {
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${label}</text>`);
    y += 8;
    const max = Math.max(1, ...rows.map((r) => r[metric]));
    for (const row of rows) {
      const width = ((WIDTH - LABEL - 80) * row[metric]) / max;
      parts.push(
        `<text x="20" y="${y + 11}" font-size="11">${xml(`${row.day} ${row.partner_id}`)}</text>`,
        `<rect x="${LABEL}" y="${y + 2}" width="${Math.max(1, width)}" height="11" fill="#4477aa"/>`,
        `<text x="${LABEL + width + 6}" y="${y + 11}" font-size="11">${shown(row[metric])}</text>`,
      );
      y += ROW;
    }
    y += 14;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${parts.join("")}</svg>\n`;
}
