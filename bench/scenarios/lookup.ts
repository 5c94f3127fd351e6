import { createProducer } from "../../infra/platform/kafka/producer.ts";
import { TOPIC } from "../../infra/platform/topology.ts";
import type { Bench } from "../lib/context.ts";
import { benchEvents } from "../lib/events.ts";
import { compareLookup } from "../lib/lookup-compare.ts";

export async function lookupScenario(bench: Bench) {
  const { quick, config, partner, report } = bench;
  const { waitCaughtUp } = bench.tools;
  const users = 100_000;
  const rate = 10_000;
  const seconds = quick ? 10 : 30;
  // 100K profiles of this partner: one event per user, straight to the topic.
  const seed = benchEvents(users, { runId: "lk", users, partner }).map((e, i) => ({
    ...e,
    user_id: `lk-${i}`,
    event_id: `lk-${i}-seed`,
  }));
  const producer = await createProducer(config);
  for (let i = 0; i < seed.length; i += 5000)
    await producer.send(seed.slice(i, i + 5000).map((e) => ({ topic: TOPIC.clickstream, key: e.user_id, value: e })));
  await producer.disconnect();
  await waitCaughtUp("seeding 100K profiles");
  report.lookup = await compareLookup(bench, {
    figure: "lookup",
    path: "/v1/profiles/",
    view: { name: "profiles", partner },
    idPrefix: "lk-",
    count: users,
    rate,
    seconds,
  });
}
