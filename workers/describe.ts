import {
  JOBS,
  SOURCES,
  TOPIC,
  TOPICS,
  type TopicId,
  VIEWS,
  WORKERS,
  type WorkerDeclaration,
} from "../infra/platform/topology.ts";

/**
 * The declared topology as people read it: `bun run workers --describe`
 * prints it as text, then as a Mermaid graph (the README's diagram is this
 * output).
 */

const workers = Object.entries({ ...WORKERS, ...JOBS }) as [string, WorkerDeclaration][];
const viewsOf = (worker: string) => Object.entries(VIEWS).filter(([, view]) => view.worker === worker);

/** Each pipeline's workers, what they read and what they write. */
export function describePipelines(): string {
  const lines: string[] = [];
  for (const pipeline of [...new Set(workers.map(([, w]) => w.pipeline))]) {
    lines.push(`${pipeline}`);
    for (const [name, w] of workers.filter(([, w]) => w.pipeline === pipeline)) {
      const from = [...(w.from ?? []), ...w.inputs.map((id) => TOPIC[id])];
      const to = [
        ...w.outputs.map((id) => TOPIC[id]),
        ...viewsOf(name).map(([view, v]) => `view ${view} (${v.store}${"index" in v ? ` + search ${v.index}` : ""})`),
        ...(w.to ?? []),
      ];
      lines.push(
        `  ${name.padEnd(21)} ${from.join(", ") || "-"}  ->  ${to.join(", ") || "-"}${w.copartitioned ? "   [co-partitioned]" : ""}`,
      );
    }
  }
  return lines.join("\n");
}

export function describeText(): string {
  const lines = [describePipelines(), "", "topics"];
  for (const [id, t] of Object.entries(TOPICS)) {
    const parts = "partitions" in t ? `${t.partitions} partition` : "TOPIC_PARTITIONS";
    const retention = t.retentionMs < 0 ? "forever" : `${t.retentionMs / 86_400_000} d`;
    lines.push(
      `  ${TOPIC[id as TopicId].padEnd(24)} key ${t.key.padEnd(12)} ${t.cleanup.padEnd(8)} ${retention.padEnd(8)} ${parts.padEnd(17)}${t.deadLetters ? " + .dlq" : ""}`,
    );
  }
  lines.push("", "views (what the API reads)");
  for (const [name, v] of Object.entries(VIEWS))
    lines.push(
      `  ${name.padEnd(21)} ${v.store} ${v.key}${"index" in v ? `, search index ${v.index}` : ""}; by ${v.worker}; serves ${v.serves.join(", ")}`,
    );
  return lines.join("\n");
}

const node = (id: string) => id.replace(/[^A-Za-z0-9]/g, "_");

export function describeMermaid(): string {
  const lines = ["flowchart LR"];
  for (const [id] of Object.entries(TOPICS)) lines.push(`  t_${node(id)}[/"${TOPIC[id as TopicId]}"/]`);
  for (const source of SOURCES) {
    lines.push(`  s_${node(source.name)}(["${source.name}"])`);
    for (const out of source.outputs) lines.push(`  s_${node(source.name)} --> t_${node(out)}`);
  }
  for (const [name, w] of workers) {
    lines.push(`  w_${node(name)}["${name}"]`);
    for (const input of w.inputs) lines.push(`  t_${node(input)} --> w_${node(name)}`);
    for (const output of w.outputs) lines.push(`  w_${node(name)} --> t_${node(output)}`);
    for (const external of [...(w.from ?? [])])
      lines.push(`  x_${node(external)}[("${external}")] -.-> w_${node(name)}`);
    for (const external of [...(w.to ?? [])]) lines.push(`  w_${node(name)} -.-> x_${node(external)}[("${external}")]`);
    for (const [view, v] of viewsOf(name))
      lines.push(
        `  w_${node(name)} --> v_${node(view)}[("view ${view}: ${v.store}${"index" in v ? ` + ${v.index} index` : ""}")]`,
      );
  }
  return lines.join("\n");
}
