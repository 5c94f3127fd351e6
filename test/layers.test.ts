import { describe, expect, test } from "bun:test";
import { dirname, join, relative, resolve } from "node:path";
import { Glob } from "bun";

/**
 * The layers of the tree, bottom up: the platform (config, log, clients,
 * Kafka, contracts, topology) imports nothing above it; db the platform;
 * workers the platform and db; the API those and the read models
 * (`workers/<pipeline>/view.ts`) only; the tools (stack, datagen, stand-ins,
 * start, test) anything but tests and the bench.
 */
const ROOT = join(import.meta.dir, "..");
const LAYERS: { from: RegExp; may: RegExp[] }[] = [
  { from: /^infra\/platform\//, may: [/^infra\/platform\//] },
  { from: /^db\//, may: [/^infra\/platform\//, /^db\//] },
  { from: /^workers\/[^/]+\/view\.ts$/, may: [/^infra\/platform\//] },
  { from: /^workers\//, may: [/^infra\/platform\//, /^db\//, /^workers\//] },
  { from: /^api\//, may: [/^infra\/platform\//, /^db\//, /^api\//, /^workers\/[^/]+\/view\.ts$/] },
  { from: /^infra\/tools\//, may: [/^infra\//, /^db\//, /^workers\//, /^api\//] },
  { from: /^bench\//, may: [/^infra\//, /^db\//, /^workers\//, /^api\//, /^bench\//] },
  { from: /^test\//, may: [/./] },
];

const transpilers = { ts: new Bun.Transpiler({ loader: "ts" }), tsx: new Bun.Transpiler({ loader: "tsx" }) };

/** Every relative import in the tree's source, as [importing file, imported file] relative to the root. */
async function imports(): Promise<[string, string][]> {
  const edges: [string, string][] = [];
  for (const file of new Glob("{api,workers,db,infra,bench,test}/**/*.{ts,tsx}").scanSync(ROOT)) {
    const source = await Bun.file(join(ROOT, file)).text();
    for (const { path } of (file.endsWith(".tsx") ? transpilers.tsx : transpilers.ts).scanImports(source)) {
      if (path.startsWith(".")) edges.push([file, relative(ROOT, resolve(ROOT, dirname(file), path))]);
    }
  }
  return edges;
}

/** A cycle in a directed graph, as the list of its nodes, or null. */
function findCycle(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === "done") return null;
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe("layers", () => {
  test("every import goes to a layer its folder may use", async () => {
    const edges = await imports();
    expect(edges.length).toBeGreaterThan(300);
    const wrong = edges.filter(([from, to]) => {
      const layer = LAYERS.find((l) => l.from.test(from));
      return !layer?.may.some((allowed) => allowed.test(to));
    });
    expect(wrong.map(([from, to]) => `${from} -> ${to}`)).toEqual([]);
  });

  test("no two folders import each other, directly or around a cycle", async () => {
    const graph = new Map<string, Set<string>>();
    for (const [from, to] of await imports()) {
      const [a, b] = [dirname(from), dirname(to)];
      if (a === b) continue;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)!.add(b);
    }
    expect(graph.size).toBeGreaterThan(10);
    expect(findCycle(graph)).toBeNull();
  });

  test("the checks catch a cycle and a wrong-way import", () => {
    expect(
      findCycle(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set(["c"])],
          ["c", new Set(["a"])],
        ]),
      ),
    ).toEqual(["a", "b", "c", "a"]);
    expect(
      findCycle(
        new Map([
          ["a", new Set(["b"])],
          ["b", new Set<string>()],
        ]),
      ),
    ).toBeNull();
    const platform = LAYERS.find((l) => l.from.test("infra/platform/config.ts"))!;
    expect(platform.may.some((allowed) => allowed.test("workers/runtime/runner.ts"))).toBe(false);
    const api = LAYERS.find((l) => l.from.test("api/routes/content.ts"))!;
    expect(api.may.some((allowed) => allowed.test("workers/personalization/worker.ts"))).toBe(false);
    expect(api.may.some((allowed) => allowed.test("workers/personalization/view.ts"))).toBe(true);
  });
});
