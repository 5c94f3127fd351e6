import { parseArgs } from "node:util";
import { loadConfig } from "../infra/platform/config.ts";
import { runProbes } from "./probes.ts";

/**
 * Merge latency, its own process: every `interval` ms a new anonymous
 * visitor and a new user each send an event through the API; once both
 * profiles are readable, an identify event links them, and from its 202 the
 * anonymous id's lookup is polled every millisecond until it answers the
 * merged profile (3 events). That path crosses the profile worker (the
 * link), the identity graph, the profile worker again (the members) and
 * the persons worker.
 */
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    api: { type: "string" },
    key: { type: "string" },
    partner: { type: "string" },
    seconds: { type: "string", default: "30" },
    interval: { type: "string", default: "100" },
  },
});
loadConfig();
const run = Date.now().toString(36);
const headers = { authorization: `Bearer ${values.key}`, "content-type": "application/json" };
const post = async (events: object[]) => {
  const response = await fetch(`${values.api}/v1/events`, { method: "POST", headers, body: JSON.stringify(events) });
  if (response.status !== 202) throw new Error(`POST /v1/events: ${response.status} ${await response.text()}`);
};
const eventsOf = async (id: string, type: string) => {
  const response = await fetch(`${values.api}/v1/profiles/${id}?id_type=${type}`, { headers });
  return response.status === 200 ? ((await response.json()) as { events_total: number }).events_total : 0;
};
const event = (id: string, ids: object) => ({
  event_id: id,
  type: "page_view",
  partner_id: values.partner,
  occurred_at: new Date().toISOString(),
  ...ids,
});

const result = await runProbes({ seconds: Number(values.seconds), intervalMs: Number(values.interval) }, async (i) => {
  const anon = `bm-${run}-a${i}`;
  const user = `bm-${run}-u${i}`;
  await post([event(`${anon}-e`, { anonymous_id: anon }), event(`${user}-e`, { user_id: user })]);
  while ((await eventsOf(anon, "anonymous_id")) < 1 || (await eventsOf(user, "user_id")) < 1) await Bun.sleep(2);
  await post([{ ...event(`${user}-link`, { user_id: user, anonymous_id: anon }), type: "identify" }]);
  return async () => (await eventsOf(anon, "anonymous_id")) === 3;
});
console.log(JSON.stringify(result));
process.exit(0);
