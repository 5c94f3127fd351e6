import { Admin as PlatformaticAdmin } from "@platformatic/kafka";
import type { Admin } from "kafkajs";
import { AssignerProtocol, ConfigResourceTypes } from "kafkajs";
import type { Config } from "../config.ts";
import { decodeJson, describeErrors } from "../contracts/validate.ts";
import { TOPIC, TOPICS, type TopicId } from "../topology.ts";
import { createKafka, withAdmin } from "./client.ts";

/**
 * What people inspect in a Kafka-API broker, as Redpanda Console shows it:
 * topics (partitions, replicas, configs, watermarks, sizes, who reads them),
 * consumer groups (members, committed offsets, lag) and records (decoded and
 * checked against their topic's contract). The console page and the
 * `topics`, `groups`, `tail` and `dlq` commands both read through here.
 */

export type PartitionInfo = {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  low: string;
  high: string;
  /** On-disk bytes (the leader's log), null where the broker does not say. */
  bytes: number | null;
};

export type TopicInfo = {
  name: string;
  partitions: PartitionInfo[];
  replication: number;
  configs: { cleanupPolicy: string | null; retentionMs: string | null };
  records: number;
  bytes: number | null;
  /** Consumer groups with committed offsets on it. */
  readBy: string[];
  /** The declared contract it carries (`clickstream` for clickstream.events), or why not. */
  contract: string;
};

export type GroupPartition = { topic: string; partition: number; committed: string | null; high: string; lag: number };

export type GroupInfo = {
  groupId: string;
  state: string;
  members: { memberId: string; clientId: string; host: string; assignment: Record<string, number[]> }[];
  offsets: GroupPartition[];
  lag: number;
};

/** The declared topic a name belongs to (itself, or the topic whose dead letters it holds). */
export function declaredTopicOf(name: string): { id: TopicId; deadLetters: boolean } | undefined {
  const found = (Object.keys(TOPICS) as TopicId[]).find((id) => TOPIC[id] === name || `${TOPIC[id]}.dlq` === name);
  return found && { id: found, deadLetters: name.endsWith(".dlq") };
}

const contractName = (name: string) => {
  const declared = declaredTopicOf(name);
  if (!declared) return "not declared";
  return declared.deadLetters ? `dead letters of ${TOPIC[declared.id]}` : `${declared.id} (infra/platform/contracts)`;
};

/** Leader log sizes per topic-partition, through @platformatic/kafka (kafkajs has no DescribeLogDirs). */
async function partitionBytes(
  config: Config,
  topics: { name: string; partitions: number[] }[],
): Promise<Map<string, number>> {
  const admin = new PlatformaticAdmin({
    clientId: `${config.KAFKA_CLIENT_ID}-inspect`,
    bootstrapBrokers: config.KAFKA_BROKERS,
    timeout: 10_000,
  });
  const sizes = new Map<string, number>();
  try {
    for (const broker of await admin.describeLogDirs({ topics })) {
      for (const dir of broker.results) {
        for (const topic of dir.topics) {
          for (const p of topic.partitions) {
            const key = `${topic.name}:${p.partitionIndex}`;
            sizes.set(key, Math.max(sizes.get(key) ?? 0, Number(p.partitionSize)));
          }
        }
      }
    }
  } catch {
    // Sizes are a nicety: a broker that does not answer leaves them unknown.
  } finally {
    await admin.close();
  }
  return sizes;
}

/** Every topic (internal ones aside), with what the broker says of it and which groups read it. */
export async function describeTopics(config: Config, only?: readonly string[]): Promise<TopicInfo[]> {
  return withAdmin(config, async (admin) => {
    const names = (only ?? (await admin.listTopics())).filter((t) => !t.startsWith("__")).sort();
    if (names.length === 0) return [];
    const { topics } = await admin.fetchTopicMetadata({ topics: names });
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ["cleanup.policy", "retention.ms"],
      })),
    });
    const configOf = (name: string, key: string) =>
      resources.find((r) => r.resourceName === name)?.configEntries.find((e) => e.configName === key)?.configValue ??
      null;
    const readers = new Map<string, Set<string>>();
    for (const group of await groupsWithOffsets(admin))
      for (const topic of group.topics) readers.set(topic, (readers.get(topic) ?? new Set()).add(group.groupId));
    const sizes = await partitionBytes(
      config,
      topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionId) })),
    );
    const infos: TopicInfo[] = [];
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic.name);
      const partitions = topic.partitions
        .map((p): PartitionInfo => {
          const o = offsets.find((x) => x.partition === p.partitionId);
          return {
            partition: p.partitionId,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
            low: o?.low ?? "0",
            high: o?.high ?? "0",
            bytes: sizes.get(`${topic.name}:${p.partitionId}`) ?? null,
          };
        })
        .sort((a, b) => a.partition - b.partition);
      const known = partitions.every((p) => p.bytes !== null);
      infos.push({
        name: topic.name,
        partitions,
        replication: partitions[0]?.replicas.length ?? 0,
        configs: {
          cleanupPolicy: configOf(topic.name, "cleanup.policy"),
          retentionMs: configOf(topic.name, "retention.ms"),
        },
        records: partitions.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0),
        bytes: known ? partitions.reduce((n, p) => n + (p.bytes ?? 0), 0) : null,
        readBy: [...(readers.get(topic.name) ?? [])].sort(),
        contract: contractName(topic.name),
      });
    }
    return infos.sort((a, b) => a.name.localeCompare(b.name));
  });
}

/** Every consumer group and the topics it has committed offsets on. */
async function groupsWithOffsets(admin: Admin): Promise<{ groupId: string; topics: string[] }[]> {
  const { groups } = await admin.listGroups();
  return Promise.all(
    groups
      .filter((g) => g.protocolType === "consumer" || g.protocolType === "")
      .map(async ({ groupId }) => ({
        groupId,
        topics: (await admin.fetchOffsets({ groupId }))
          .filter((t) => t.partitions.some((p) => Number(p.offset) >= 0))
          .map((t) => t.topic),
      })),
  );
}

/** Consumer groups (all, or the named ones): state, members and what they hold, committed offsets and lag per partition. */
export async function describeGroups(config: Config, only?: readonly string[]): Promise<GroupInfo[]> {
  return withAdmin(config, async (admin) => {
    const ids = only ?? (await admin.listGroups()).groups.map((g) => g.groupId);
    if (ids.length === 0) return [];
    const { groups } = await admin.describeGroups([...ids]);
    // Groups often read the same topics: each topic's ends are fetched once per call.
    const endsOf = new Map<string, ReturnType<Admin["fetchTopicOffsets"]>>();
    const ends = (topic: string) => {
      if (!endsOf.has(topic))
        endsOf.set(
          topic,
          admin.fetchTopicOffsets(topic).catch(() => []),
        );
      return endsOf.get(topic)!;
    };
    const infos: GroupInfo[] = [];
    for (const group of groups) {
      const committed = await admin.fetchOffsets({ groupId: group.groupId });
      const offsets: GroupPartition[] = [];
      for (const { topic, partitions } of committed) {
        const topicEnds = await ends(topic);
        for (const p of partitions) {
          const high = topicEnds.find((e) => e.partition === p.partition)?.high ?? "0";
          const at = Number(p.offset) >= 0 ? p.offset : null;
          offsets.push({
            topic,
            partition: p.partition,
            committed: at,
            high,
            lag: Math.max(0, Number(high) - Number(at ?? 0)),
          });
        }
      }
      infos.push({
        groupId: group.groupId,
        state: group.state,
        members: group.members.map((m) => ({
          memberId: m.memberId,
          clientId: m.clientId,
          host: m.clientHost,
          assignment: (AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment ?? {}) as Record<
            string,
            number[]
          >,
        })),
        offsets: offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
        lag: offsets.reduce((n, o) => n + o.lag, 0),
      });
    }
    return infos.sort((a, b) => a.groupId.localeCompare(b.groupId));
  });
}

/** Move a stopped group's committed offsets on a topic: to its earliest or latest records, or the first at or after a time. */
export async function resetGroup(
  config: Config,
  groupId: string,
  topic: string,
  to: "earliest" | "latest" | Date,
): Promise<GroupPartition[]> {
  await withAdmin(config, async (admin) => {
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group && group.members.length > 0)
      throw new Error(`group ${groupId} has ${group.members.length} live member(s); stop its workers first`);
    if (to === "earliest" || to === "latest") await admin.resetOffsets({ groupId, topic, earliest: to === "earliest" });
    else
      await admin.setOffsets({
        groupId,
        topic,
        partitions: await admin.fetchTopicOffsetsByTimestamp(topic, to.getTime()),
      });
  });
  const [after] = await describeGroups(config, [groupId]);
  return (after?.offsets ?? []).filter((o) => o.topic === topic);
}

export type InspectedRecord = {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  /** The value as text, and parsed as JSON when it is JSON. */
  text: string | null;
  json?: unknown;
  /** Checked against the topic's declared contract: null when it passes, the reason when not, undefined when the topic declares none. */
  invalid?: string | null;
};

export type ReadOptions = {
  from?: "earliest" | "latest" | Date;
  partition?: number;
  /** Keep records whose key is this. */
  key?: string;
  /** Keep records whose value contains this text. */
  text?: string;
  /** The most records (default 50); with `from: "latest"`, the newest ones of each partition. */
  limit?: number;
  /** Keep reading new records until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
};

/** A record as people read it: key, headers, timestamp and the value decoded and checked against the contract. */
export function inspectRecord(
  topic: string,
  partition: number,
  message: {
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers?: Record<string, unknown>;
  },
): InspectedRecord {
  const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
  const record: InspectedRecord = {
    topic,
    partition,
    offset: message.offset,
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: message.key?.toString() ?? null,
    headers,
    text: message.value?.toString("utf8") ?? null,
  };
  if (record.text !== null) {
    try {
      record.json = JSON.parse(record.text);
    } catch {
      // Not JSON: the text is shown as it is.
    }
  }
  const declared = declaredTopicOf(topic);
  if (declared && !declared.deadLetters) {
    const decoded = decodeJson(TOPICS[declared.id].contract, message.value);
    record.invalid = decoded.ok ? null : describeErrors(decoded.errors);
  }
  return record;
}

/**
 * Records of a topic from a position (each
 * partition sought to its own start offset), filtered by key or text, up
 * to `limit`, or on and on with `follow`.
 */
export async function readRecords(
  config: Config,
  topic: string,
  options: ReadOptions,
  onRecord: (record: InspectedRecord) => void,
): Promise<number> {
  const limit = options.limit ?? 50;
  const kafka = createKafka(config);
  const starts = await withAdmin(config, async (admin) => {
    const ends = await admin.fetchTopicOffsets(topic);
    const chosen = ends.filter((e) => options.partition === undefined || e.partition === options.partition);
    if (options.from instanceof Date) {
      const at = await admin.fetchTopicOffsetsByTimestamp(topic, options.from.getTime());
      return chosen.map((e) => ({ ...e, start: at.find((a) => a.partition === e.partition)?.offset ?? e.high }));
    }
    // The newest `limit` of each partition by default: what a tail shows.
    const from = options.from ?? "latest";
    return chosen.map((e) => ({
      ...e,
      start:
        from === "earliest"
          ? e.low
          : String(BigInt(e.high) - BigInt(Math.min(limit, Number(BigInt(e.high) - BigInt(e.low))))),
    }));
  });
  const pending = new Set(starts.filter((s) => BigInt(s.start) < BigInt(s.high)).map((s) => s.partition));
  if (pending.size === 0 && !options.follow) return 0;
  // A group of its own, deleted after: the records are read, never committed.
  const groupId = `${config.CONSUMER_GROUP_PREFIX}inspect-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  let shown = 0;
  const done = Promise.withResolvers<void>();
  options.signal?.addEventListener("abort", () => done.resolve());
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const start = starts.find((s) => s.partition === partition);
        if (!start || BigInt(message.offset) < BigInt(start.start)) return;
        if (!options.follow && BigInt(message.offset) >= BigInt(start.high)) return;
        const record = inspectRecord(topic, partition, message);
        const wanted =
          (options.key === undefined || record.key === options.key) &&
          (options.text === undefined || (record.text ?? "").includes(options.text));
        if (wanted && (options.follow || shown < limit)) {
          shown++;
          onRecord(record);
        }
        if (!options.follow && BigInt(message.offset) + 1n >= BigInt(start.high)) pending.delete(partition);
        if (!options.follow && (pending.size === 0 || shown >= limit)) done.resolve();
      },
    });
    for (const s of starts)
      if (options.partition === undefined || s.partition === options.partition)
        consumer.seek({ topic, partition: s.partition, offset: s.start });
    await done.promise;
  } finally {
    await consumer.disconnect();
    await withAdmin(config, (admin) => admin.deleteGroups([groupId])).catch(() => {});
  }
  return shown;
}
