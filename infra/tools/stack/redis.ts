import { mkdirSync } from "node:fs";
import Redis from "ioredis";
import { aptInstall } from "./apt.ts";
import { isListening, portOf, useRemote, waitFor } from "./net.ts";
import { dir, runtimePath } from "./paths.ts";
import { runningPid, runToEnd, startDetached, stopAllNamed, stopByPid } from "./proc.ts";
import { type Server, type ServerStatus, stateOf } from "./server.ts";

/**
 * Redis at REDIS_URL when it answers; otherwise a project-local redis-server
 * (installed from Debian's packages when missing) on REDIS_URL's port, with
 * an append-only file under .runtime/redis. With REDIS_CLUSTER, a Redis
 * Cluster instead: 3 primaries and 3 replicas on REDIS_URL's port and the 5
 * after it, under .runtime/redis-cluster.
 */

const NAME = "redis";
/** Every server the stack runs: an append-only file, no snapshots, in the foreground (its pid is ours). */
const SERVER_ARGS = ["--appendonly", "yes", "--save", "", "--daemonize", "no"];

/** Ask one server once (no retries, no reconnecting), then disconnect. */
async function probe<T>(url: string, ask: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return await ask(redis);
  } finally {
    redis.disconnect();
  }
}

const serverVersion = (url: string) =>
  probe(url, async (redis) => (await redis.info("server")).match(/redis_version:(\S+)/)?.[1]);

async function redisServerBinary(): Promise<string> {
  const found = Bun.which("redis-server");
  if (found) return found;
  await aptInstall(["redis-server"]);
  const installed = Bun.which("redis-server");
  if (!installed) throw new Error("redis-server was installed but is not on PATH");
  return installed;
}

/** A Redis Cluster the stack (or a test) runs: `label` names its pid files and its folder. */
export type RedisCluster = { label: string; port: number };

const CLUSTER_NODES = 6;
const clusterNodes = ({ label, port }: RedisCluster) =>
  Array.from({ length: CLUSTER_NODES }, (_, i) => ({
    name: `${label}-${i + 1}`,
    port: port + i,
    home: runtimePath(`${label}-cluster`, `node-${i + 1}`),
  }));

/** What CLUSTER INFO says of a node: its state and how many nodes it knows. */
const clusterState = (port: number): Promise<{ state: string; known: number } | undefined> =>
  probe(`redis://127.0.0.1:${port}`, async (redis) => {
    const info = await redis.cluster("INFO");
    return {
      state: info.match(/cluster_state:(\w+)/)?.[1] ?? "unknown",
      known: Number(info.match(/cluster_known_nodes:(\d+)/)?.[1] ?? 0),
    };
  }).catch(() => undefined);

/**
 * Start the cluster's nodes that are not running, join them into one cluster
 * (once: each node keeps its nodes.conf), and wait until every node says ok.
 */
export async function startRedisCluster(cluster: RedisCluster): Promise<{ wasRunning: boolean }> {
  const nodes = clusterNodes(cluster);
  const wasRunning = nodes.some((node) => runningPid(node.name) !== undefined);
  const binary = await redisServerBinary();
  for (const node of nodes) {
    if (runningPid(node.name) !== undefined) continue;
    mkdirSync(node.home, { recursive: true });
    startDetached(node.name, binary, [
      "--port",
      String(node.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      node.home,
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-node-timeout",
      "5000",
      ...SERVER_ARGS,
    ]);
  }
  const everyNode = (ok: (state: Awaited<ReturnType<typeof clusterState>>) => boolean) => async () =>
    (await Promise.all(nodes.map((node) => clusterState(node.port)))).every(ok) ? true : undefined;
  await waitFor("the Redis Cluster nodes", everyNode(Boolean), { timeoutMs: 30_000 });
  if ((await clusterState(cluster.port))!.known < CLUSTER_NODES) {
    await runToEnd(
      [
        Bun.which("redis-cli") ?? "redis-cli",
        "--cluster",
        "create",
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        "1",
        "--cluster-yes",
      ],
      "redis-cli --cluster create",
    );
  }
  await waitFor(
    "the Redis Cluster to be ok on every node",
    everyNode((state) => state?.state === "ok" && state.known === CLUSTER_NODES),
    { timeoutMs: 60_000 },
  );
  return { wasRunning };
}

export async function stopRedisCluster(cluster: RedisCluster, signal: NodeJS.Signals = "SIGTERM"): Promise<boolean> {
  const stopped = await Promise.all(clusterNodes(cluster).map((node) => stopByPid(node.name, 20_000, signal)));
  return stopped.some(Boolean);
}

export const redisServer: Server = {
  name: NAME,

  async up(config) {
    const url = config.REDIS_URL;
    const remote = await useRemote("Redis (REDIS_URL)", new URL(url).hostname, () => serverVersion(url));
    if (remote) return remote;
    if (config.REDIS_CLUSTER) {
      const cluster = { label: NAME, port: portOf(url, 6379) };
      if (runningPid(clusterNodes(cluster)[0]!.name) === undefined) {
        if ((await clusterState(cluster.port))?.state === "ok") return "external";
        for (const node of clusterNodes(cluster))
          if (await isListening(node.port))
            throw new Error(
              `port ${node.port} is open but is not a node of a Redis Cluster the stack runs; point REDIS_URL at another port`,
            );
      }
      return (await startRedisCluster(cluster)).wasRunning ? "running" : "started";
    }
    const wasRunning = runningPid(NAME) !== undefined;
    if (!wasRunning) {
      if (await serverVersion(url).catch(() => undefined)) return "external";
      const port = portOf(url, 6379);
      if (await isListening(port))
        throw new Error(`port ${port} is open but Redis at REDIS_URL does not answer; check REDIS_URL`);
      startDetached(NAME, await redisServerBinary(), [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir("redis"),
        ...SERVER_ARGS,
      ]);
    }
    await waitFor("Redis", () => serverVersion(url), { timeoutMs: 30_000 });
    return wasRunning ? "running" : "started";
  },

  async down() {
    // The server, or every node of the stack's cluster, and any a test left.
    return stopAllNamed(NAME);
  },

  async status(config): Promise<ServerStatus> {
    const version = await serverVersion(config.REDIS_URL).catch(() => undefined);
    const pid = runningPid(config.REDIS_CLUSTER ? `${NAME}-1` : NAME);
    return {
      name: NAME,
      version: version ? `Redis ${version}${config.REDIS_CLUSTER ? " (Cluster, 6 nodes)" : ""}` : "-",
      port: portOf(config.REDIS_URL, 6379),
      state: stateOf(version !== undefined, pid),
    };
  },
};
