import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { logLevel } from "kafkajs";
import type { Config } from "../../platform/config.ts";
import { createKafka } from "../../platform/kafka/client.ts";
import { findJdk } from "./java.ts";
import { resolveJars } from "./maven.ts";
import { isListening, useRemote, waitFor } from "./net.ts";
import { dir, runtimePath } from "./paths.ts";
import { runningPid, runToEnd, startDetached, stopByPid, tail } from "./proc.ts";
import { type Server, type ServerStatus, stateOf } from "./server.ts";

/**
 * One Apache Kafka node in KRaft mode (broker and controller in one JVM),
 * run straight from the Maven Central jars.
 */

const NAME = "kafka";

function listenAddress(config: Config): { host: string; port: number } {
  const [host = "127.0.0.1", port = "9092"] = (config.KAFKA_BROKERS[0] ?? "").split(":");
  return { host, port: Number(port) };
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

function writeConfig(home: string, config: Config): void {
  const { port } = listenAddress(config);
  const controllerPort = port + 1;
  writeFileSync(
    join(home, "server.properties"),
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      `log.dirs=${join(home, "data")}`,
      `num.partitions=${config.TOPIC_PARTITIONS}`,
      // Topics are created from the declared topology only, never by a typo.
      "auto.create.topics.enable=false",
      "offsets.topic.replication.factor=1",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      // One node: no reason to wait for more group members to join.
      "group.initial.rebalance.delay.ms=0",
      "log.retention.check.interval.ms=60000",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(home, "log4j2.properties"),
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

async function formatStorage(java: string, jars: string, home: string): Promise<void> {
  if (existsSync(join(home, "data", "meta.properties"))) return;
  const clusterId = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
  await runToEnd(
    // `--cluster-id=`: a base64url id may start with "-", which would read as an option.
    [
      java,
      ...javaArgs(jars, home, "256m"),
      "kafka.tools.StorageTool",
      "format",
      `--cluster-id=${clusterId}`,
      "-c",
      join(home, "server.properties"),
    ],
    "kafka storage format",
  );
}

async function metadataAnswers(config: Config): Promise<boolean> {
  const admin = createKafka(config, {
    retry: { retries: 0 },
    connectionTimeout: 1000,
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export const kafka: Server = {
  name: NAME,

  async up(config) {
    const { host, port } = listenAddress(config);
    const remote = await useRemote("the Kafka broker (KAFKA_BROKERS)", host, () => metadataAnswers(config));
    if (remote) return remote;
    if (runningPid(NAME) === undefined) {
      if (await metadataAnswers(config).catch(() => false)) return "external";
      if (await isListening(port))
        throw new Error(
          `port ${port} is taken by something that is not a Kafka broker; set KAFKA_BROKERS to another port`,
        );
    }
    const jars = await kafkaJars(config);
    const home = dir("kafka");
    const wasRunning = runningPid(NAME) !== undefined;
    if (!wasRunning) {
      const jdk = findJdk(17);
      writeConfig(home, config);
      await formatStorage(jdk.java, jars, home);
      startDetached(NAME, jdk.java, [
        ...javaArgs(jars, home, config.KAFKA_HEAP),
        "kafka.Kafka",
        join(home, "server.properties"),
      ]);
    }
    await waitFor(
      "Kafka metadata",
      async () => ((await metadataAnswers(config).catch(() => false)) ? true : undefined),
      {
        timeoutMs: 120_000,
        failFast: () =>
          runningPid(NAME) === undefined ? `the broker exited; last log lines:\n${tail(NAME)}` : undefined,
      },
    );
    return wasRunning ? "running" : "started";
  },

  async down() {
    return stopByPid(NAME, 30_000);
  },

  async status(config): Promise<ServerStatus> {
    const { port } = listenAddress(config);
    const pid = runningPid(NAME);
    const jarDir = runtimePath("jars", `kafka-${config.KAFKA_VERSION}`);
    const jar = existsSync(jarDir) ? readdirSync(jarDir).find((f) => /^kafka_2\.13-.*\.jar$/.test(f)) : undefined;
    const version = jar?.replace(/^kafka_2\.13-|\.jar$/g, "") ?? "unknown";
    const up = await metadataAnswers(config).catch(() => false);
    return {
      name: NAME,
      version: pid !== undefined ? `Apache Kafka ${version} (KRaft)` : up ? "Kafka API (external)" : "-",
      port,
      state: stateOf(up, pid),
    };
  },
};
