import { parseArgs } from "node:util";
import Redis from "ioredis";
import "../infra/platform/tracing-channels.ts";
import { loadConfig } from "../infra/platform/config.ts";
import { createProducer } from "../infra/platform/kafka/producer.ts";
import { TOPIC } from "../infra/platform/topology.ts";
import { userInfoKey } from "../workers/userinfo/view.ts";
import { runProbes } from "./probes.ts";

/**
 * Update latency, its own process: every `interval` ms a new follow of a
 * seeded user is produced to social.follows; from the broker's ack, Redis is
 * polled every millisecond until the followee's document shows one more
 * follower. That path crosses both stages and the repartition topic.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    users: { type: "string" },
    seconds: { type: "string", default: "30" },
    interval: { type: "string", default: "50" },
  },
});
const config = loadConfig();
const [prefix, count] = values.users!.split(":") as [string, string];
const redis = new Redis(config.REDIS_URL);
const producer = await createProducer(config);
const run = Date.now().toString(36);

const followers = async (user: string) => {
  const raw = await redis.get(userInfoKey(user, { partitions: config.TOPIC_PARTITIONS }));
  return raw ? (JSON.parse(raw) as { counts: { followers: number } }).counts.followers : -1;
};

const result = await runProbes({ seconds: Number(values.seconds), intervalMs: Number(values.interval) }, async (i) => {
  const followee = `${prefix}${Math.floor(Math.random() * Number(count))}`;
  const before = await followers(followee);
  await producer.send([
    {
      topic: TOPIC.follows,
      key: `ul-${run}-${i}`,
      value: {
        type: "follow",
        follower_id: `ul-${run}-${i}`,
        followee_id: followee,
        occurred_at: new Date().toISOString(),
      },
    },
  ]);
  return async () => (await followers(followee)) > before;
});
await producer.disconnect();
redis.disconnect();
console.log(JSON.stringify(result));
process.exit(0);
