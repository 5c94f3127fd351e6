import { migrateDatabase } from "../../../db/migrate.ts";
import type { Config } from "../../platform/config.ts";
import { applyTopics, type TopicsApplied } from "../../platform/kafka/admin.ts";
import { createKafka } from "../../platform/kafka/client.ts";
import { topicSpecs } from "../../platform/topology.ts";
import { kafka, kafkaNodes, stackCluster } from "./kafka.ts";
import { isListening, portOf } from "./net.ts";
import { opensearch } from "./opensearch.ts";
import { postgresServer } from "./postgres.ts";
import { redisServer } from "./redis.ts";
import type { Server, ServerStatus, UpResult } from "./server.ts";
import { smtpServer } from "./smtp.ts";

export const SERVERS: readonly Server[] = [postgresServer, redisServer, kafka, opensearch, smtpServer];

export async function applyDeclaredTopics(config: Config): Promise<TopicsApplied> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    return await applyTopics(admin, topicSpecs(config.TOPIC_PREFIX), {
      partitions: config.TOPIC_PARTITIONS,
      replication: config.TOPIC_REPLICATION,
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Bring every server up (reusing those already answering), then apply the
 * declared topics and the database migrations. Safe to run again.
 */
const describe: Record<UpResult, string> = {
  started: "started",
  running: "already up",
  external: "found running (not ours), used as is",
};

/** Returns the servers this call started. */
export async function stackUp(config: Config, say: (line: string) => void = console.log): Promise<Server[]> {
  const began = Date.now();
  const started: Server[] = [];
  // The JVMs are slow to boot; start them side by side.
  await Promise.all(
    SERVERS.map(async (server) => {
      const t0 = Date.now();
      const how = await server.up(config);
      if (how === "started") started.push(server);
      say(`${server.name.padEnd(10)} ${describe[how]} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    }),
  );
  const topics = await applyDeclaredTopics(config);
  say(
    `topics     ${topics.created.length} created, ${topics.reconfigured.length} reconfigured, ${topicSpecs().length} declared`,
  );
  for (const drift of topics.partitionDrift) {
    say(
      `WARNING    topic ${drift.name} has ${drift.actual} partitions, declared ${drift.declared}; not changed (it would move keys)`,
    );
  }
  await migrateDatabase(config.DATABASE_URL);
  say(`migrations applied`);
  say(`stack ready in ${((Date.now() - began) / 1000).toFixed(1)}s`);
  return started;
}

/** Stop what `up` started (by pid); servers found running are left alone. */
export async function stackDown(config: Config, say: (line: string) => void = console.log): Promise<void> {
  for (const server of [...SERVERS].reverse()) {
    say(`${server.name.padEnd(10)} ${(await server.down(config)) ? "stopped" : "not started by the stack"}`);
  }
}

export async function stackStatus(config: Config): Promise<ServerStatus[]> {
  return Promise.all(SERVERS.map((server) => server.status(config)));
}

/** Ports of servers the stack itself runs that still accept connections. */
export async function listeningStackPorts(config: Config): Promise<number[]> {
  const ports = [
    ...kafkaNodes(stackCluster(config)).flatMap((node) => [node.port, node.controllerPort]),
    ...Array.from({ length: config.OPENSEARCH_NODES }, (_, i) => portOf(config.OPENSEARCH_URL, 9200) + i).flatMap(
      (port) => [port, port + 100],
    ),
    portOf(config.SMTP_URL, 25),
  ];
  const open = await Promise.all(ports.map(async (p) => ((await isListening(p)) ? p : undefined)));
  return open.filter((p): p is number => p !== undefined);
}
