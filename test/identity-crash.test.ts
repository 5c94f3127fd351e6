import { describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApp } from "../api/app.ts";
import { createApiKey } from "../api/http/keys.ts";
import { closeApiDependencies, connectApiDependencies } from "../api/server.ts";
import type { OutRecord } from "../infra/platform/kafka/producer.ts";
import { TOPIC, WORKERS } from "../infra/platform/topology.ts";
import { expectedGroups, expectedProfiles, type Id, refs, type Sent } from "./fixtures/identity-expected.ts";
import { eventually, produceWithKills, ROOT, skipToEnd, testConfig, unique } from "./helpers.ts";

const config = testConfig();

/** People who browse anonymously, log in, and come back on a second device: every login a merge of two groups. */
function traffic(run: string, partners: string[], people: number): Sent[] {
  const steps: Sent[][] = [];
  let n = 0;
  const sha = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex");
  for (let k = 0; k < people; k++)
    for (const partner of partners) {
      const id = (kind: string) => `${run}-${kind}${k}`;
      const at = (minute: number) => new Date(Date.UTC(2026, 10, 20, 8, minute, k % 60)).toISOString();
      const e = (type: string, ids: object, minute: number, extra: object = {}): Sent => ({
        event_id: `${run}-e${++n}`,
        type,
        partner_id: partner,
        occurred_at: at(minute),
        ...ids,
        ...extra,
      });
      const email = sha(`${id("u")}@example.com`);
      const person = [
        e("page_view", { anonymous_id: id("a") }, 0, { session_id: id("s1") }),
        e("page_view", { anonymous_id: id("a") }, 1, { session_id: id("s1") }),
        e("identify", { anonymous_id: id("a"), device_id: id("d") }, 2, { session_id: id("s1") }),
        e("page_view", { anonymous_id: id("a") }, 3, { session_id: id("s1") }),
        e("identify", { user_id: id("u"), anonymous_id: id("a") }, 4, { session_id: id("s1") }),
        e("purchase", { user_id: id("u") }, 5, { session_id: id("s1"), cart_amount: (k % 40) + 0.5 }),
        e("page_view", { anonymous_id: id("b") }, 20, { session_id: id("s2") }),
        e("identify", { anonymous_id: id("b"), email_hash: email }, 21, { session_id: id("s2") }),
        e("identify", { user_id: id("u"), email_hash: email }, 22, { session_id: id("s2") }),
        e("page_view", { user_id: id("u") }, 23, { session_id: id("s2") }),
      ];
      person.forEach((event, step) => {
        (steps[step] ??= []).push(event);
      });
    }
  // Everyone's first steps, then everyone's next ones: merges go on through the whole run.
  return steps.flat();
}

/**
 * SIGKILL the process running the profile, identity and person workers
 * several times while logins merge people; after a restart and catch-up,
 * every group equals union-find's over the identify events sent and every
 * person's profile the sums over its identifiers' events.
 */
describe("identity workers crash", () => {
  test("killed repeatedly during merges, the final graph and profiles are exact", async () => {
    const run = unique("idcrash");
    const partners = [`${run}-pa`, `${run}-pb`];
    const sent = traffic(run, partners, 500);
    const records: OutRecord[] = sent.map((value) => ({
      topic: TOPIC.clickstream,
      key: (value.user_id ?? value.anonymous_id) as string,
      value,
    }));
    const names = ["profiles", "identities", "persons"] as const;
    for (const name of names)
      await skipToEnd(
        config,
        name,
        WORKERS[name].inputs.map((id) => TOPIC[id]),
      );
    const spawnWorkers = (env: Record<string, string>) =>
      Bun.spawn([process.execPath, "workers/main.ts", ...names], {
        cwd: ROOT,
        env: { ...process.env, ...env, WORKER_SESSION_TIMEOUT_MS: "6000", WORKER_MAX_BATCH: "300" },
        stdout: "ignore",
        stderr: "ignore",
      });
    const { worker, kills, planned, midBatch } = await produceWithKills(config, records, spawnWorkers, {
      slice: 1000,
      killEvery: 2000,
      group: { worker: "identities", topics: [TOPIC.identityLinks] },
    });
    console.log(
      `identity crash: ${kills} kills of the process while it merged, ${midBatch} with links not yet committed`,
    );
    expect(planned).toBeGreaterThanOrEqual(3);
    expect(kills).toBe(planned);
    expect(midBatch).toBeGreaterThanOrEqual(1);

    const deps = await connectApiDependencies(config);
    const app = createApp(deps);
    const keys: Record<string, string> = {};
    for (const p of partners) keys[p] = (await createApiKey(drizzle(deps.sql), p)).key;
    const get = async (partner: string, path: string) => {
      const response = await app.request(path, { headers: { authorization: `Bearer ${keys[partner]}` } });
      return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : response.status;
    };
    const groups = expectedGroups(sent, partners);
    const persons = expectedProfiles(sent, groups);
    const cases = [...persons].flatMap(([person, want]) =>
      want.identifiers.map((ref) => ({
        partner: person.slice(0, person.indexOf(" ")),
        id: { type: ref.slice(0, ref.indexOf(":")), value: ref.slice(ref.indexOf(":") + 1) } as Id,
        want,
      })),
    );
    expect(persons.size).toBe(partners.length * 500);
    expect(cases.length).toBe(partners.length * 500 * 5);
    try {
      const profileOf = (c: (typeof cases)[number]) =>
        get(c.partner, `/v1/profiles/${encodeURIComponent(c.id.value)}?id_type=${c.id.type}`);
      await eventually(
        "the restarted workers to catch up",
        async () => {
          for (const c of cases.filter((_, i) => i % 25 === 0)) {
            const answer = await profileOf(c);
            if (typeof answer === "number" || answer.events_total !== c.want.events_total) return false;
          }
          return true;
        },
        240_000,
      );
      worker.kill("SIGTERM");
      expect(await worker.exited).toBe(0);

      let differing = 0;
      for (const c of cases) {
        const [answer, identities] = await Promise.all([
          profileOf(c),
          get(c.partner, `/v1/profiles/${encodeURIComponent(c.id.value)}/identities?id_type=${c.id.type}`),
        ]);
        const same =
          typeof answer !== "number" &&
          typeof identities !== "number" &&
          answer.events_total === c.want.events_total &&
          Math.abs((answer.total_purchases as number) - c.want.total_purchases) < 1e-6 &&
          answer.sessions === c.want.sessions &&
          answer.first_seen === c.want.first_seen &&
          answer.last_visit === c.want.last_visit &&
          refs(identities.identifiers as Id[]).join(",") === c.want.identifiers.join(",");
        if (!same) differing++;
      }
      console.log(
        `identity crash: ${cases.length} identifiers of ${persons.size} people read after ${kills} kills: ${differing} differing from union-find and the sums`,
      );
      expect(differing).toBe(0);
    } finally {
      worker.kill("SIGKILL");
      await closeApiDependencies(deps);
    }
  }, 600_000);
});
