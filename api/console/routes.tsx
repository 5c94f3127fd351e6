import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { raw } from "hono/html";
import type { Config } from "../../infra/platform/config.ts";
import { deadLetterTopics, listDeadLetters, replayDeadLetters } from "../../infra/platform/kafka/dead-letters.ts";
import {
  describeGroups,
  describeTopics,
  type InspectedRecord,
  type ReadOptions,
  readRecords,
  resetGroup,
} from "../../infra/platform/kafka/inspect.ts";
import type { RedisClient } from "../../infra/platform/redis-keys.ts";
import { TOPIC, VIEWS, WORKERS, type WorkerName } from "../../infra/platform/topology.ts";
import type { Resolved } from "../http/keys.ts";
import { viewStates } from "../http/readiness.ts";
import { consoleAccess } from "./access.ts";
import { PipelineGraphSvg, pipelineGraphs, type WorkerLive } from "./graph.tsx";
import { consoleHistory, sparkline } from "./history.ts";
import { Layout } from "./layout.tsx";

/**
 * The console (what Redpanda Console shows, for this project's broker):
 * the pipelines with their status and lag, topics and their records
 * decoded against their contracts, consumer groups with lag and offset
 * resets, dead letters with replay, and the stand-ins' traffic. Rendered on
 * the server (hono/jsx); forms, no scripts.
 */
export type ConsoleDependencies = { config: Config; redis: RedisClient; resolveApiKey(key: string): Promise<Resolved> };

const consumerGroupOf = (config: Config, worker: string) => `${config.CONSUMER_GROUP_PREFIX}${worker}`;

/** The newest `n` JSON lines of a file a stand-in writes (none while it has written nothing). */
function lastJsonLines(file: string, n: number): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .slice(-n)
    .reverse()
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function RecordRow({ r }: { r: InspectedRecord }) {
  return (
    <tr>
      <td>
        {r.partition}:{r.offset}
      </td>
      <td>{r.timestamp}</td>
      <td>{r.key ?? "-"}</td>
      <td>
        <pre>{Object.entries(r.headers).map(([k, v]) => `${k}: ${v}\n`)}</pre>
      </td>
      <td class={r.invalid ? "bad" : r.invalid === null ? "ok" : ""}>
        {r.invalid ? `invalid: ${r.invalid}` : r.invalid === null ? "valid" : "-"}
      </td>
      <td>
        <pre>{r.json === undefined ? (r.text ?? "(null)") : JSON.stringify(r.json, null, 2)}</pre>
      </td>
    </tr>
  );
}

export function consoleRoutes({ config, redis, resolveApiKey }: ConsoleDependencies): Hono {
  const app = new Hono();
  const history = consoleHistory(config, redis);
  const graphs = pipelineGraphs();
  app.use("/console", consoleAccess(resolveApiKey));
  app.use("/console/*", consoleAccess(resolveApiKey));
  for (const path of ["/console", "/console/*"]) {
    app.use(path, async (_, next) => {
      await history.start();
      await next();
    });
  }

  app.get("/console", async (c) => {
    const statuses = await viewStates(redis).catch(() => ({}) as Awaited<ReturnType<typeof viewStates>>);
    const groups = new Map(
      (
        await describeGroups(
          config,
          Object.keys(WORKERS).map((w) => consumerGroupOf(config, w)),
        )
      ).map((g) => [g.groupId, g]),
    );
    const viewsOf = (worker: string) =>
      Object.entries(VIEWS)
        .filter(([, v]) => v.worker === worker)
        .map(([name]) => `view ${name}`);
    const live = Object.fromEntries(
      (Object.keys(WORKERS) as WorkerName[]).map((name) => {
        const status = statuses[name] as { state?: string; records?: number; lastError?: string | null } | undefined;
        const group = groups.get(consumerGroupOf(config, name));
        const worker: WorkerLive & { records?: number; lastError?: string | null; group?: string } = {
          state: status?.state ?? (group && group.members.length > 0 ? "running" : "not running"),
          rate: history.rate(name),
          lag: group?.lag,
          failing: Boolean(status?.lastError),
          records: status?.records,
          lastError: status?.lastError,
          group: group?.groupId,
        };
        return [name, worker];
      }),
    );
    return c.html(
      <Layout title="Pipelines" path="/console">
        {graphs.map((graph) => (
          <section>
            <h2>{graph.pipeline}</h2>
            <PipelineGraphSvg graph={graph} live={live} />
          </section>
        ))}
        <h2>Workers</h2>
        <table id="pipelines">
          <tr>
            <th>pipeline</th>
            <th>reads</th>
            <th>worker</th>
            <th>writes</th>
            <th>state</th>
            <th>records</th>
            <th>records/s</th>
            <th>lag</th>
            <th>lag, last 15 min</th>
            <th>last error</th>
          </tr>
          {(Object.entries(WORKERS) as [WorkerName, (typeof WORKERS)[WorkerName]][]).map(([name, w]) => {
            const worker = live[name] as (typeof live)[string];
            return (
              <tr class="worker" data-worker={name}>
                <td>{w.pipeline}</td>
                <td>{[...("from" in w ? w.from : []), ...w.inputs.map((id) => TOPIC[id])].join(", ") || "-"}</td>
                <td>
                  <b>{name}</b>
                  <div class="muted">{w.summary}</div>
                </td>
                <td>
                  {[...w.outputs.map((id) => TOPIC[id]), ...viewsOf(name), ...("to" in w ? w.to : [])].join(", ") ||
                    "-"}
                </td>
                <td>{worker.state}</td>
                <td>{worker.records ?? "-"}</td>
                <td>{worker.rate?.toFixed(1) ?? "-"}</td>
                <td>
                  {worker.group ? (
                    <a href={`/console/groups/${encodeURIComponent(worker.group)}`}>{worker.lag}</a>
                  ) : (
                    "-"
                  )}
                </td>
                <td>{raw(sparkline(history.lagSeries(history.groupOf(name))))}</td>
                <td class="bad">{worker.lastError ?? ""}</td>
              </tr>
            );
          })}
        </table>
      </Layout>,
    );
  });

  app.get("/console/topics", async (c) => {
    const topics = await describeTopics(config);
    return c.html(
      <Layout title="Topics" path="/console/topics">
        <table id="topics">
          <tr>
            <th>topic</th>
            <th>partitions</th>
            <th>replicas</th>
            <th>cleanup</th>
            <th>retention.ms</th>
            <th>records</th>
            <th>bytes</th>
            <th>read by</th>
            <th>contract</th>
          </tr>
          {topics.map((t) => (
            <tr>
              <td>
                <a href={`/console/topics/${encodeURIComponent(t.name)}`}>{t.name}</a>
              </td>
              <td>{t.partitions.length}</td>
              <td>{t.replication}</td>
              <td>{t.configs.cleanupPolicy}</td>
              <td>{t.configs.retentionMs}</td>
              <td>{t.records}</td>
              <td>{t.bytes ?? "-"}</td>
              <td>{t.readBy.join(", ")}</td>
              <td>{t.contract}</td>
            </tr>
          ))}
        </table>
      </Layout>,
    );
  });

  app.get("/console/topics/:name", async (c) => {
    const name = c.req.param("name");
    const [topic] = await describeTopics(config, [name]).catch(() => []);
    if (!topic)
      return c.html(
        <Layout title={`No topic ${name}`} path="/console/topics">
          {""}
        </Layout>,
        404,
      );
    const q = c.req.query();
    // The newest records by default; "earliest", or the first at or after a time.
    const from =
      q.from === "earliest"
        ? "earliest"
        : q.from && q.from !== "latest" && !Number.isNaN(Date.parse(q.from))
          ? new Date(q.from)
          : "latest";
    const options: ReadOptions = {
      from,
      partition: q.partition ? Number(q.partition) : undefined,
      key: q.key || undefined,
      text: q.text || undefined,
      limit: Math.min(500, Number(q.limit) || 50),
    };
    const records: InspectedRecord[] = [];
    await readRecords(config, name, options, (r) => records.push(r));
    return c.html(
      <Layout title={name} path="/console/topics">
        <p>
          {topic.contract}; {topic.configs.cleanupPolicy}, retention.ms {topic.configs.retentionMs}; read by{" "}
          {topic.readBy.join(", ") || "no group"}
        </p>
        <table id="partitions">
          <tr>
            <th>partition</th>
            <th>leader</th>
            <th>replicas</th>
            <th>in sync</th>
            <th>low</th>
            <th>high</th>
            <th>bytes</th>
          </tr>
          {topic.partitions.map((p) => (
            <tr>
              <td>{p.partition}</td>
              <td>{p.leader}</td>
              <td>{p.replicas.join(",")}</td>
              <td>{p.isr.join(",")}</td>
              <td>{p.low}</td>
              <td>{p.high}</td>
              <td>{p.bytes ?? "-"}</td>
            </tr>
          ))}
        </table>
        <h2>Messages</h2>
        <form method="get" id="browse">
          <select name="from">
            <option value="latest">newest</option>
            <option value="earliest" selected={q.from === "earliest"}>
              earliest
            </option>
          </select>
          <input name="partition" placeholder="partition" value={q.partition ?? ""} size={6} />
          <input name="key" placeholder="key" value={q.key ?? ""} />
          <input name="text" placeholder="contains text" value={q.text ?? ""} />
          <input name="limit" placeholder="limit" value={q.limit ?? "50"} size={5} />
          <button type="submit">show</button>
        </form>
        <table id="records">
          <tr>
            <th>at</th>
            <th>timestamp</th>
            <th>key</th>
            <th>headers</th>
            <th>contract</th>
            <th>value</th>
          </tr>
          {records.map((r) => (
            <RecordRow r={r} />
          ))}
        </table>
      </Layout>,
    );
  });

  app.get("/console/groups", async (c) => {
    const groups = await describeGroups(config);
    return c.html(
      <Layout title="Consumer groups" path="/console/groups">
        <table id="groups">
          <tr>
            <th>group</th>
            <th>state</th>
            <th>members</th>
            <th>lag</th>
          </tr>
          {groups.map((g) => (
            <tr>
              <td>
                <a href={`/console/groups/${encodeURIComponent(g.groupId)}`}>{g.groupId}</a>
              </td>
              <td>{g.state}</td>
              <td>{g.members.length}</td>
              <td>{g.lag}</td>
            </tr>
          ))}
        </table>
      </Layout>,
    );
  });

  app.get("/console/groups/:id", async (c) => {
    const id = c.req.param("id");
    history.watch(id);
    const [group] = await describeGroups(config, [id]);
    if (!group)
      return c.html(
        <Layout title={`No group ${id}`} path="/console/groups">
          {""}
        </Layout>,
        404,
      );
    const topics = [...new Set(group.offsets.map((o) => o.topic))];
    return c.html(
      <Layout title={`Group ${id}`} path="/console/groups">
        <p>
          state <b id="state">{group.state}</b>, {group.members.length} member(s), lag <b id="lag">{group.lag}</b>
        </p>
        <p>
          lag over the last 15 minutes (every 10 s while the console is open):{" "}
          {raw(sparkline(history.lagSeries(id), 480, 60)) || "not enough samples yet"}
        </p>
        <table id="offsets">
          <tr>
            <th>topic</th>
            <th>partition</th>
            <th>committed</th>
            <th>high</th>
            <th>lag</th>
            <th>member</th>
          </tr>
          {group.offsets.map((o) => {
            const owner = group.members.find((m) => m.assignment[o.topic]?.includes(o.partition));
            return (
              <tr>
                <td>{o.topic}</td>
                <td>{o.partition}</td>
                <td>{o.committed ?? "-"}</td>
                <td>{o.high}</td>
                <td>{o.lag}</td>
                <td>{owner ? `${owner.clientId} ${owner.host}` : "-"}</td>
              </tr>
            );
          })}
        </table>
        <h2>Reset offsets</h2>
        <p class="muted">Only a stopped group (no members) can be moved; the broker refuses otherwise.</p>
        <form method="post" action={`/console/groups/${encodeURIComponent(id)}/reset`}>
          <select name="topic">
            {topics.map((t) => (
              <option value={t}>{t}</option>
            ))}
          </select>
          <select name="to">
            <option value="earliest">earliest</option>
            <option value="latest">latest</option>
          </select>
          <input name="time" placeholder="or a time (ISO)" />
          <button type="submit">reset</button>
        </form>
      </Layout>,
    );
  });

  app.post("/console/groups/:id/reset", async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const time = typeof form.time === "string" && form.time !== "" ? new Date(form.time) : undefined;
    const to = time ?? (form.to === "latest" ? "latest" : "earliest");
    try {
      if (time && Number.isNaN(time.getTime())) throw new Error(`not a time: ${form.time}`);
      await resetGroup(config, id, String(form.topic), to);
    } catch (error) {
      return c.html(
        <Layout title={`Group ${id} not reset`} path="/console/groups">
          <p class="bad">{(error as Error).message}</p>
          <a href={`/console/groups/${encodeURIComponent(id)}`}>back</a>
        </Layout>,
        409,
      );
    }
    return c.redirect(`/console/groups/${encodeURIComponent(id)}`, 303);
  });

  app.get("/console/dlq", async (c) => {
    const letters = await listDeadLetters(config, { limit: 200 });
    return c.html(
      <Layout title="Dead letters" path="/console/dlq">
        <p class="muted">
          Every declared dead-letter topic: {deadLetterTopics().length}. Replay sends the chosen records back to their
          source topic as they were.
        </p>
        <form method="post" action="/console/dlq/replay" id="replay">
          <table id="letters">
            <tr>
              <th />
              <th>dead-letter topic</th>
              <th>at</th>
              <th>source</th>
              <th>source partition</th>
              <th>source offset</th>
              <th>worker</th>
              <th>key</th>
              <th>reason</th>
            </tr>
            {letters.map((d) => (
              <tr>
                <td>
                  <input type="checkbox" name="pick" value={`${d.topic}|${d.partition}|${d.offset}`} />
                </td>
                <td>{d.topic}</td>
                <td>
                  {d.partition}:{d.offset}
                </td>
                <td>{d.source.topic}</td>
                <td>{d.source.partition ?? "-"}</td>
                <td>{d.source.offset ?? "-"}</td>
                <td>{d.worker ?? "-"}</td>
                <td>{d.key ?? "-"}</td>
                <td class="bad">{d.reason}</td>
              </tr>
            ))}
          </table>
          <button type="submit">replay the chosen records</button>
        </form>
      </Layout>,
    );
  });

  app.post("/console/dlq/replay", async (c) => {
    const form = await c.req.parseBody({ all: true });
    const picks = ([] as unknown[]).concat(form.pick ?? []).map(String);
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const pick of picks) {
      const [topic, partition, offset] = pick.split("|");
      if (!topic || !partition || !offset) continue;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition: Number(partition), offset }]);
    }
    let replayed = 0;
    try {
      for (const [topic, which] of byTopic) replayed += (await replayDeadLetters(config, topic, which)).length;
    } catch (error) {
      return c.html(
        <Layout title="Replay failed" path="/console/dlq">
          <p class="bad">{(error as Error).message}</p>
        </Layout>,
        409,
      );
    }
    return c.html(
      <Layout title="Replayed" path="/console/dlq">
        <p id="replayed">{replayed} record(s) sent back to their topics.</p>
        <a href="/console/dlq">back to the dead letters</a>
      </Layout>,
    );
  });

  app.get("/console/stand-ins", (c) => {
    const mails = lastJsonLines(join(config.RUNTIME_DIR, "smtp", "messages.jsonl"), 50);
    const pushes = lastJsonLines(join(config.RUNTIME_DIR, "push", "received.jsonl"), 50);
    return c.html(
      <Layout title="Stand-ins" path="/console/stand-ins">
        <h2>Welcome emails in the mail sink</h2>
        <table id="mails">
          <tr>
            <th>received</th>
            <th>to</th>
            <th>subject</th>
            <th>Message-ID</th>
          </tr>
          {mails.map((m) => (
            <tr>
              <td>{String(m.received_at)}</td>
              <td>{(m.envelope_to as string[] | undefined)?.join(", ")}</td>
              <td>{String(m.subject)}</td>
              <td>{String(m.message_id)}</td>
            </tr>
          ))}
        </table>
        <h2>Pushes received</h2>
        <table id="pushes">
          <tr>
            <th>received</th>
            <th>Idempotency-Key</th>
            <th>repeated</th>
            <th>action</th>
          </tr>
          {pushes.map((p) => (
            <tr>
              <td>{String(p.received_at)}</td>
              <td>{String(p.idempotency_key)}</td>
              <td>{p.repeated ? "yes" : "no"}</td>
              <td>
                <pre>{JSON.stringify(p.action)}</pre>
              </td>
            </tr>
          ))}
        </table>
      </Layout>,
    );
  });

  return app;
}
