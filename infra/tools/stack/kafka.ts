import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logLevel } from "kafkajs";
import type { Config } from "../../platform/config.ts";
import { createKafka } from "../../platform/kafka/client.ts";
import { findJdk } from "./java.ts";
import { resolveJars } from "./maven.ts";
import { isListening, useRemote, waitFor } from "./net.ts";
import { runtimePath } from "./paths.ts";
import { runningPid, runToEnd, startDetached, stopAllNamed, stopByPid, tail } from "./proc.ts";
import { type Server, type ServerStatus, stateOf } from "./server.ts";

/**
 * Apache Kafka in KRaft mode, run straight from the Maven Central jars: one
 * node (broker and controller in one JVM), or `STACK_BROKERS` such nodes
 * forming one cluster, node i listening on the first KAFKA_BROKERS port +
 * 2i (its controller on the port after).
 */

const NAME = "kafka";

/** A cluster the stack (or a test) runs: `label` names its pid files and its folder under RUNTIME_DIR. */
export type KafkaCluster = { label: string; host: string; port: number; nodes: number };

export type KafkaNode = { id: number; name: string; home: string; port: number; controllerPort: number };

export function kafkaNodes(cluster: KafkaCluster): KafkaNode[] {
  return Array.from({ length: cluster.nodes }, (_, i) => ({
    id: i + 1,
    // One node keeps the names it always had, so an existing stack is found again.
    name: cluster.nodes === 1 ? cluster.label : `${cluster.label}-${i + 1}`,
    home: cluster.nodes === 1 ? runtimePath(cluster.label) : runtimePath(`${cluster.label}-cluster`, `node-${i + 1}`),
    port: cluster.port + 2 * i,
    controllerPort: cluster.port + 2 * i + 1,
  }));
}

/** The brokers' addresses, as KAFKA_BROKERS lists them. */
export const kafkaAddresses = (cluster: KafkaCluster) =>
  kafkaNodes(cluster).map((node) => `${cluster.host}:${node.port}`);

/** The cluster `stack up` runs: STACK_BROKERS nodes from the first KAFKA_BROKERS address. */
export function stackCluster(config: Config): KafkaCluster {
  const [host = "127.0.0.1", port = "9092"] = (config.KAFKA_BROKERS[0] ?? "").split(":");
  return { label: NAME, host, port: Number(port), nodes: config.STACK_BROKERS };
}

export function kafkaJars(config: Config): Promise<string> {
  const version = config.KAFKA_VERSION;
  const log4jVersion = "2.24.3";
  return resolveJars(`kafka-${version}`, [
    { groupId: "org.apache.kafka", artifactId: "kafka_2.13", version },
    { groupId: "org.apache.kafka", artifactId: "kafka-tools", version },
    // Kafka logs through slf4j 1.7; this binding sends it to log4j2.
    { groupId: "org.apache.logging.log4j", artifactId: "log4j-slf4j-impl", version: log4jVersion },
  ]);
}

function javaArgs(jars: string, home: string, heap: string): string[] {
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${join(home, "log4j2.properties")}`,
    "-cp",
    `${jars}/*`,
  ];
}

function writeConfig(node: KafkaNode, cluster: KafkaCluster, partitions: number): void {
  mkdirSync(node.home, { recursive: true });
  const replicas = Math.min(3, cluster.nodes);
  const voters = kafkaNodes(cluster)
    .map((n) => `${n.id}@${cluster.host}:${n.controllerPort}`)
    .join(",");
  writeFileSync(
    join(node.home, "server.properties"),
    [
      "process.roles=broker,controller",
      `node.id=${node.id}`,
      `controller.quorum.voters=${voters}`,
      `listeners=PLAINTEXT://${cluster.host}:${node.port},CONTROLLER://${cluster.host}:${node.controllerPort}`,
      `advertised.listeners=PLAINTEXT://${cluster.host}:${node.port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      `log.dirs=${join(node.home, "data")}`,
      `num.partitions=${partitions}`,
      // Topics are created from the declared topology only, never by a typo.
      "auto.create.topics.enable=false",
      // The broker's own topics survive a node's loss where there are nodes to spare.
      `offsets.topic.replication.factor=${replicas}`,
      `transaction.state.log.replication.factor=${replicas}`,
      `transaction.state.log.min.isr=${Math.min(2, replicas)}`,
      `share.coordinator.state.topic.replication.factor=${replicas}`,
      `share.coordinator.state.topic.min.isr=${Math.min(2, replicas)}`,
      // Local: no reason to wait for more group members to join.
      "group.initial.rebalance.delay.ms=0",
      "log.retention.check.interval.ms=60000",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(node.home, "log4j2.properties"),
    [
      "rootLogger.level=INFO",
      "rootLogger.appenderRef.stdout.ref=STDOUT",
      "appender.stdout.type=Console",
      "appender.stdout.name=STDOUT",
      "appender.stdout.layout.type=PatternLayout",
      "appender.stdout.layout.pattern=[%d] %p %m (%c)%n",
      "logger.kafka.name=kafka",
      "logger.kafka.level=WARN",
      "logger.apache.name=org.apache.kafka",
      "logger.apache.level=WARN",
      "logger.started.name=kafka.server.KafkaRaftServer",
      "logger.started.level=INFO",
      "",
    ].join("\n"),
  );
}

/** Format every node's storage that is not yet, all with one cluster id (read from a formatted node, else new). */
async function formatStorage(java: string, jars: string, nodes: KafkaNode[]): Promise<void> {
  const metaOf = (node: KafkaNode) => join(node.home, "data", "meta.properties");
  const formatted = nodes.find((node) => existsSync(metaOf(node)));
  const clusterId =
    (formatted && /cluster\.id=(\S+)/.exec(readFileSync(metaOf(formatted), "utf8"))?.[1]) ??
    Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
  for (const node of nodes) {
    if (existsSync(metaOf(node))) continue;
    await runToEnd(
      // `--cluster-id=`: a base64url id may start with "-", which would read as an option.
      [
        java,
        ...javaArgs(jars, node.home, "256m"),
        "kafka.tools.StorageTool",
        "format",
        `--cluster-id=${clusterId}`,
        "-c",
        join(node.home, "server.properties"),
      ],
      "kafka storage format",
    );
  }
}

async function metadataAnswers(config: Config): Promise<boolean> {
  return (await brokersAnswering(config)) > 0;
}

/** How many brokers the cluster's metadata lists (throws when none answers). */
async function brokersAnswering(config: Config): Promise<number> {
  const admin = createKafka(config, {
    retry: { retries: 0 },
    connectionTimeout: 1000,
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Start the cluster's nodes that are not running (a no-op for those that
 * are) and wait until every broker answers. Returns whether any was running.
 */
export async function startKafkaCluster(
  config: Config,
  cluster: KafkaCluster,
  heap = config.KAFKA_HEAP,
): Promise<{ wasRunning: boolean }> {
  const jars = await kafkaJars(config);
  const nodes = kafkaNodes(cluster);
  const stopped = nodes.filter((node) => runningPid(node.name) === undefined);
  const wasRunning = stopped.length < nodes.length;
  if (stopped.length > 0) {
    const jdk = findJdk(17);
    for (const node of nodes) writeConfig(node, cluster, config.TOPIC_PARTITIONS);
    await formatStorage(jdk.java, jars, nodes);
    for (const node of stopped)
      startDetached(node.name, jdk.java, [
        ...javaArgs(jars, node.home, heap),
        "kafka.Kafka",
        join(node.home, "server.properties"),
      ]);
  }
  const clients = { ...config, KAFKA_BROKERS: kafkaAddresses(cluster) };
  await waitFor(
    cluster.nodes === 1 ? "Kafka metadata" : `all ${cluster.nodes} Kafka brokers`,
    async () => ((await brokersAnswering(clients).catch(() => 0)) >= cluster.nodes ? true : undefined),
    {
      timeoutMs: 120_000,
      failFast: () => {
        const exited = nodes.find((node) => runningPid(node.name) === undefined);
        return exited && `the broker ${exited.name} exited; last log lines:\n${tail(exited.name)}`;
      },
    },
  );
  return { wasRunning };
}

/** Stop the cluster's nodes; true when any was running. */
export async function stopKafkaCluster(cluster: KafkaCluster, signal: NodeJS.Signals = "SIGTERM"): Promise<boolean> {
  const stopped = await Promise.all(kafkaNodes(cluster).map((node) => stopByPid(node.name, 30_000, signal)));
  return stopped.some(Boolean);
}

export const kafka: Server = {
  name: NAME,

  async up(config) {
    const cluster = stackCluster(config);
    const remote = await useRemote("the Kafka broker (KAFKA_BROKERS)", cluster.host, () => metadataAnswers(config));
    if (remote) return remote;
    const [first] = kafkaNodes(cluster);
    if (runningPid(first!.name) === undefined) {
      if (await metadataAnswers(config).catch(() => false)) return "external";
      for (const node of kafkaNodes(cluster))
        if (await isListening(node.port))
          throw new Error(
            `port ${node.port} is taken by something that is not a Kafka broker; set KAFKA_BROKERS to another port`,
          );
    }
    const { wasRunning } = await startKafkaCluster(config, cluster);
    return wasRunning ? "running" : "started";
  },

  async down() {
    // Every node of every cluster run here: the stack's (whatever STACK_BROKERS was), and any a test left.
    return stopAllNamed(NAME, 30_000);
  },

  async status(config): Promise<ServerStatus> {
    const cluster = stackCluster(config);
    const pid = runningPid(kafkaNodes(cluster)[0]!.name);
    const jarDir = runtimePath("jars", `kafka-${config.KAFKA_VERSION}`);
    const jar = existsSync(jarDir) ? readdirSync(jarDir).find((f) => /^kafka_2\.13-.*\.jar$/.test(f)) : undefined;
    const version = jar?.replace(/^kafka_2\.13-|\.jar$/g, "") ?? "unknown";
    const up = await metadataAnswers(config).catch(() => false);
    const nodes = cluster.nodes === 1 ? "" : `, ${cluster.nodes} nodes`;
    return {
      name: NAME,
      version: pid !== undefined ? `Apache Kafka ${version} (KRaft${nodes})` : up ? "Kafka API (external)" : "-",
      port: cluster.port,
      state: stateOf(up, pid),
    };
  },
};
