import { JOBS, SOURCES, TOPIC, type TopicId, VIEWS, WORKERS } from "../../infra/platform/topology.ts";

/**
 * The pipelines page's drawing: per pipeline, a layered graph of what feeds
 * each worker and what it writes (topics, views, outside systems), laid out
 * from the declared topology, with each worker's state, rate and lag.
 */
export type NodeKind = "source" | "topic" | "worker" | "job" | "view" | "external";
export type GraphNode = { id: string; label: string; kind: NodeKind; column: number; row: number };
export type GraphEdge = { from: string; to: string };
export type PipelineGraph = { pipeline: string; nodes: GraphNode[]; edges: GraphEdge[] };
export type WorkerLive = { state: string; rate?: number; lag?: number; failing: boolean };

type Step = {
  name: string;
  kind: "worker" | "job";
  declared: (typeof WORKERS)[keyof typeof WORKERS] | typeof JOBS.export;
};

/** Columns by longest path from the roots, pulled right toward their readers; rows by the mean row of a node's predecessors, so edges cross less. */
function layOut(ids: string[], edges: GraphEdge[]): Map<string, { column: number; row: number }> {
  const preds = new Map(ids.map((id) => [id, edges.filter((e) => e.to === id).map((e) => e.from)]));
  const column = new Map<string, number>();
  const columnOf = (id: string, path: Set<string>): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    if (path.has(id)) throw new Error(`the topology has a cycle through ${id}`);
    const next = new Set(path).add(id);
    const c = Math.max(-1, ...(preds.get(id) ?? []).map((p) => columnOf(p, next))) + 1;
    column.set(id, c);
    return c;
  };
  for (const id of ids) columnOf(id, new Set());
  // Then each node as far right as its successors allow, so an outside
  // system or a topic sits just before the step that reads it.
  for (const id of [...ids].sort((a, b) => (column.get(b) ?? 0) - (column.get(a) ?? 0))) {
    const next = edges.filter((e) => e.from === id).map((e) => column.get(e.to) ?? 0);
    if (next.length) column.set(id, Math.max(column.get(id) ?? 0, Math.min(...next) - 1));
  }
  const placed = new Map<string, { column: number; row: number }>();
  const columns = Math.max(0, ...column.values()) + 1;
  for (let c = 0; c < columns; c++) {
    const here = ids.filter((id) => column.get(id) === c);
    const weight = (id: string) => {
      const rows = (preds.get(id) ?? []).map((p) => placed.get(p)?.row ?? 0);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : here.indexOf(id);
    };
    [...here]
      .sort((a, b) => weight(a) - weight(b) || here.indexOf(a) - here.indexOf(b))
      .forEach((id, row) => {
        placed.set(id, { column: c, row });
      });
  }
  return placed;
}

/** One graph per pipeline (and the export job's), from the declared topology. */
export function pipelineGraphs(): PipelineGraph[] {
  const steps: Step[] = [
    ...Object.entries(WORKERS).map(([name, declared]) => ({ name, kind: "worker" as const, declared })),
    ...Object.entries(JOBS).map(([name, declared]) => ({ name, kind: "job" as const, declared })),
  ];
  const pipelines = [...new Set(steps.map((s) => s.declared.pipeline))];
  return pipelines.map((pipeline) => {
    const labels = new Map<string, { label: string; kind: NodeKind }>();
    const edges: GraphEdge[] = [];
    const node = (id: string, label: string, kind: NodeKind) => {
      if (!labels.has(id)) labels.set(id, { label, kind });
      return id;
    };
    const topic = (id: TopicId) => node(`topic:${id}`, TOPIC[id], "topic");
    const link = (from: string, to: string) => {
      if (!edges.some((e) => e.from === from && e.to === to)) edges.push({ from, to });
    };
    const here = steps.filter((s) => s.declared.pipeline === pipeline);
    const writtenHere = new Set(here.flatMap((s) => s.declared.outputs as readonly TopicId[]));
    for (const { name, kind, declared } of here) {
      const step = node(`${kind}:${name}`, name, kind);
      for (const id of declared.inputs as readonly TopicId[]) {
        if (!writtenHere.has(id)) {
          for (const source of SOURCES.filter((s) => s.outputs.includes(id)))
            link(node(`source:${source.name}`, source.name, "source"), topic(id));
        }
        link(topic(id), step);
      }
      for (const from of "from" in declared ? declared.from : [])
        link(node(`external:${from}`, from, "external"), step);
      for (const id of declared.outputs as readonly TopicId[]) link(step, topic(id));
      for (const [view, v] of Object.entries(VIEWS))
        if (kind === "worker" && v.worker === name)
          link(step, node(`view:${view}`, `view ${view} (${v.store})`, "view"));
      for (const to of "to" in declared ? declared.to : []) link(step, node(`external:${to}`, to, "external"));
    }
    const ids = [...labels.keys()];
    const placed = layOut(ids, edges);
    const nodes = ids.map((id) => ({
      id,
      ...(labels.get(id) as { label: string; kind: NodeKind }),
      ...(placed.get(id) as { column: number; row: number }),
    }));
    return { pipeline, nodes, edges };
  });
}

const WIDTH = 210;
const PITCH_X = 260;
const HEIGHT = 40;
const PITCH_Y = 54;
const FILL: Record<NodeKind, string> = {
  source: "#fff4d6",
  topic: "#e6eefc",
  worker: "#eeeeee",
  job: "#eeeeee",
  view: "#efe6fb",
  external: "#ffffff",
};
const fitted = (text: string, max = 34) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A pipeline's graph as inline SVG: topics, views and outside systems in boxes, workers coloured by state. */
export function PipelineGraphSvg({ graph, live }: { graph: PipelineGraph; live: Record<string, WorkerLive> }) {
  const at = new Map(graph.nodes.map((n) => [n.id, n]));
  const width = (Math.max(...graph.nodes.map((n) => n.column)) + 1) * PITCH_X - (PITCH_X - WIDTH) + 2;
  const height = (Math.max(...graph.nodes.map((n) => n.row)) + 1) * PITCH_Y - (PITCH_Y - HEIGHT) + 2;
  const marker = `arrow-${graph.pipeline.replace(/\W+/g, "-")}`;
  return (
    <svg
      class="pipeline-graph"
      data-pipeline={graph.pipeline}
      width={width}
      height={height}
      viewBox={`-1 -1 ${width} ${height}`}
      role="img"
      aria-label={`${graph.pipeline}: ${graph.nodes.map((n) => n.label).join(", ")}`}
    >
      <defs>
        <marker id={marker} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#778" />
        </marker>
      </defs>
      {graph.edges.map((e) => {
        const a = at.get(e.from) as GraphNode;
        const b = at.get(e.to) as GraphNode;
        const [x1, y1] = [a.column * PITCH_X + WIDTH, a.row * PITCH_Y + HEIGHT / 2];
        const [x2, y2] = [b.column * PITCH_X, b.row * PITCH_Y + HEIGHT / 2];
        const bend = (x2 - x1) / 2;
        return (
          <path
            class="edge"
            data-from={e.from}
            data-to={e.to}
            d={`M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`}
            fill="none"
            stroke="#778"
            marker-end={`url(#${marker})`}
          />
        );
      })}
      {graph.nodes.map((n) => {
        const status = n.kind === "worker" ? live[n.label] : undefined;
        const fill = !status
          ? FILL[n.kind]
          : status.failing
            ? "#fde2e4"
            : status.state === "running"
              ? "#d7f5e9"
              : FILL.worker;
        const detail = status
          ? `${status.state} · ${status.rate === undefined ? "-" : status.rate.toFixed(1)}/s · lag ${status.lag ?? "-"}`
          : n.kind === "job"
            ? "scheduled (bun run export)"
            : undefined;
        const x = n.column * PITCH_X;
        const y = n.row * PITCH_Y;
        return (
          <g class={`node ${n.kind}`} data-node={n.id}>
            <title>{n.label}</title>
            <rect
              x={x}
              y={y}
              width={WIDTH}
              height={HEIGHT}
              rx={n.kind === "topic" ? 12 : 3}
              fill={fill}
              stroke={n.kind === "worker" || n.kind === "job" ? "#1d2330" : "#99a"}
              stroke-width={n.kind === "worker" || n.kind === "job" ? 1.5 : 1}
              stroke-dasharray={n.kind === "external" || n.kind === "source" ? "4 3" : undefined}
            />
            <text
              x={x + 8}
              y={y + (detail ? 16 : 24)}
              font-size="12"
              font-weight={n.kind === "worker" || n.kind === "job" ? "bold" : "normal"}
            >
              {fitted(n.label)}
            </text>
            {detail && (
              <text x={x + 8} y={y + 32} font-size="11" fill="#445">
                {fitted(detail, 38)}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
