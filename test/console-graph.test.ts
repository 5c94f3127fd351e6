import { describe, expect, test } from "bun:test";
import { PipelineGraphSvg, pipelineGraphs } from "../api/console/graph.tsx";
import { JOBS, VIEWS, WORKERS } from "../infra/platform/topology.ts";

/** The pipelines page's graph, laid out from the declared topology (no server). */
const graphs = pipelineGraphs();

describe("pipeline graphs", () => {
  test("one graph per pipeline; every worker and job drawn once, in its own pipeline's graph", () => {
    const steps = { ...WORKERS, ...JOBS };
    expect(graphs.map((g) => g.pipeline).sort()).toEqual(
      [...new Set(Object.values(steps).map((s) => s.pipeline))].sort(),
    );
    const drawn = graphs.flatMap((g) =>
      g.nodes
        .filter((n) => n.kind === "worker" || n.kind === "job")
        .map((n) => ({ name: n.label, pipeline: g.pipeline })),
    );
    expect(drawn.length).toBe(Object.keys(steps).length);
    for (const [name, step] of Object.entries(steps)) {
      expect(drawn.filter((d) => d.name === name)).toEqual([{ name, pipeline: step.pipeline }]);
    }
  });

  test("every declared input, output, view and outside system is an edge", () => {
    const edges = new Set(graphs.flatMap((g) => g.edges.map((e) => `${e.from} -> ${e.to}`)));
    const declared = [
      ...Object.entries(WORKERS).flatMap(([name, w]) => [
        ...w.inputs.map((id) => `topic:${id} -> worker:${name}`),
        ...w.outputs.map((id) => `worker:${name} -> topic:${id}`),
        ...("from" in w ? w.from : []).map((x) => `external:${x} -> worker:${name}`),
        ...("to" in w ? w.to : []).map((x) => `worker:${name} -> external:${x}`),
      ]),
      ...Object.entries(VIEWS).map(([view, v]) => `worker:${v.worker} -> view:${view}`),
      ...JOBS.export.inputs.map((id) => `topic:${id} -> job:export`),
    ];
    expect(declared.length).toBeGreaterThan(40);
    expect(declared.filter((edge) => !edges.has(edge))).toEqual([]);
  });

  test("layered: every edge points to a later column, and no two nodes share a place", () => {
    let checked = 0;
    for (const g of graphs) {
      const at = new Map(g.nodes.map((n) => [n.id, n]));
      for (const e of g.edges) {
        expect({ edge: e, forward: (at.get(e.to)?.column ?? -1) > (at.get(e.from)?.column ?? 0) }).toEqual({
          edge: e,
          forward: true,
        });
        checked++;
      }
      const places = g.nodes.map((n) => `${n.column}/${n.row}`);
      expect(new Set(places).size).toBe(places.length);
    }
    expect(checked).toBeGreaterThan(40);
  });

  test("the SVG colours a worker by its state and shows its rate and lag", () => {
    const graph = graphs.find((g) => g.nodes.some((n) => n.id === "worker:profiles"));
    expect(graph).toBeDefined();
    const svg = String(
      PipelineGraphSvg({
        graph: graph as (typeof graphs)[number],
        live: {
          profiles: { state: "running", rate: 12.5, lag: 3, failing: false },
          notifier: { state: "running", failing: true },
        },
      }),
    );
    const nodeOf = (id: string) => new RegExp(`<g class="node worker" data-node="${id}">.*?</g>`).exec(svg)?.[0] ?? "";
    expect(nodeOf("worker:profiles")).toContain('fill="#d7f5e9"');
    expect(nodeOf("worker:profiles")).toContain("running · 12.5/s · lag 3");
    expect(nodeOf("worker:notifier")).toContain('fill="#fde2e4"');
    expect(svg.match(/<path class="edge"/g)?.length).toBe(graph?.edges.length as number);
  });
});
