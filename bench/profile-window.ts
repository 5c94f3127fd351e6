import { parseArgs } from "node:util";

/**
 * Where a worker process's CPU went during one stretch of a bench run:
 * `bun bench/profile-window.ts <file.cpuprofile> --from <epoch ms> --to <epoch ms>`
 * (the stretch of a catch-up is in the report as `stages.from`/`stages.to`;
 * `bun run bench --profile` writes the profiles). Counts samples, not their
 * time deltas (a delta spans the idle time before a sample), and prints
 * shares by package, by function (self) and by the project's own functions
 * (inclusive: a function and all it calls).
 */
type Frame = { functionName: string; url: string; lineNumber: number };
type Node = { id: number; callFrame: Frame; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number };

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { from: { type: "string" }, to: { type: "string" }, top: { type: "string", default: "20" } },
});
if (positionals.length !== 1) {
  console.error("usage: bun bench/profile-window.ts <file.cpuprofile> [--from <epoch ms>] [--to <epoch ms>] [--top N]");
  process.exit(2);
}
const profile = (await Bun.file(positionals[0]!).json()) as Profile;
const from = Number(values.from ?? 0) * 1000;
const to = values.to === undefined ? Number.POSITIVE_INFINITY : Number(values.to) * 1000;
const top = Number(values.top);

// Source paths, with or without a file:// scheme.
for (const node of profile.nodes) node.callFrame.url = node.callFrame.url.replace(/^file:\/\//, "");
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

const hits = new Map<number, number>();
let total = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at < from || at > to) return;
  hits.set(id, (hits.get(id) ?? 0) + 1);
  total++;
});
if (total === 0) {
  console.error("no samples in that stretch (is it this process's, and are the times epoch milliseconds?)");
  process.exit(1);
}

const ROOT = new URL("..", import.meta.url).pathname;
/** A package name, a project file, or "(native)". */
const placeOf = (url: string) =>
  url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? (url.startsWith(ROOT) ? url.slice(ROOT.length) : url);
const nameOf = (frame: Frame) => `${frame.functionName || "(anonymous)"} ${placeOf(frame.url)}:${frame.lineNumber + 1}`;
const ancestors = function* (id: number) {
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) yield nodes.get(at)!.callFrame;
};

const byPlace = new Map<string, number>();
const bySelf = new Map<string, number>();
const byOwn = new Map<string, number>();
const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
for (const [id, n] of hits) {
  add(bySelf, nameOf(nodes.get(id)!.callFrame), n);
  // Native code counts for the nearest caller with a source (JSON.parse in the project's decoder is the decoder's).
  const withSource = [...ancestors(id)].find((frame) => frame.url);
  add(byPlace, withSource ? placeOf(withSource.url).split("/").slice(0, 2).join("/") : "(native)", n);
  const counted = new Set<string>();
  for (const frame of ancestors(id)) {
    if (!frame.url.startsWith(ROOT) || frame.url.includes("node_modules")) continue;
    const name = nameOf(frame);
    if (!counted.has(name)) add(byOwn, name, n);
    counted.add(name);
  }
}
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * n) / total).toFixed(1).padStart(6)}%  ${key}`);
};
console.log(`${total} samples (about ${(total / 1000).toFixed(1)} s of CPU on the JS thread)`);
print("by package or project folder", byPlace);
print("by function, self", bySelf);
print("the project's functions, inclusive", byOwn);
