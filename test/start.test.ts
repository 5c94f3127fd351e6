import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { createApiKey } from "../api/http/keys.ts";
import { createSql } from "../infra/platform/clients.ts";
import { TOPIC, WORKERS } from "../infra/platform/topology.ts";
import { mailFor, signUp } from "./fixtures/welcome.ts";
import { eventually, ROOT, skipToEnd, testConfig, unique } from "./helpers.ts";

/**
 * `bun run start` on a machine with no subscriber-key service and no push
 * provider configured: stand-ins take their place, so a signup gets its
 * welcome email and an add_to_cart its push, as a newcomer expects.
 */
const config = testConfig();
const sql = createSql(config, 2);
const run = unique("start");
const port = 18_000 + Math.floor(Math.random() * 1000);
let system: ReturnType<typeof Bun.spawn> | undefined;
afterAll(async () => {
  system?.kill("SIGKILL");
  await sql.end();
});

describe("bun run start", () => {
  test("with no SUBSCRIBER_KEY_URL or PUSH_WEBHOOK_URL, stand-ins run: signups are emailed and add_to_carts pushed", async () => {
    // Every worker starts at its topics' ends: earlier tests' records are not this one's.
    for (const [name, worker] of Object.entries(WORKERS)) {
      if (worker.inputs.length > 0)
        await skipToEnd(
          config,
          name,
          worker.inputs.map((id) => TOPIC[id]),
        );
    }
    const env = { ...process.env, PORT: String(port), SUBSCRIBER_KEY_URL: "", PUSH_WEBHOOK_URL: "" };
    system = Bun.spawn([process.execPath, "infra/tools/start.ts"], {
      cwd: ROOT,
      env,
      stdout: "pipe",
      stderr: "inherit",
    });
    let output = "";
    const reader = (system.stdout as ReadableStream<Uint8Array>).getReader();
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        output += new TextDecoder().decode(value);
      }
    })();
    await eventually("the system to be up", async () => output.includes("system up"), 90_000);
    expect(output).toContain("stand-in subscriber-key service on http://127.0.0.1:");
    expect(output).toContain("stand-in push receiver on http://127.0.0.1:");

    const [member] = await signUp(sql, run, 1);
    await eventually("the welcome email", async () => mailFor(config, [member!]).length === 1, 60_000);

    const { key } = await createApiKey(drizzle(sql), `${run}-p`);
    const event = {
      event_id: `${run}-cart`,
      type: "add_to_cart",
      user_id: `${run}-u`,
      partner_id: `${run}-p`,
      occurred_at: new Date().toISOString(),
    };
    const posted = await fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify([event]),
    });
    expect(posted.status).toBe(202);
    const pushes = join(config.RUNTIME_DIR, "push", "received.jsonl");
    const push = await eventually(
      "the push at the stand-in receiver",
      async () =>
        readFileSync(pushes, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { action: { action_id: string; user_id: string } })
          .find((p) => p.action.action_id === event.event_id),
      60_000,
    );
    expect(push.action.user_id).toBe(event.user_id);

    system.kill("SIGTERM");
    expect(await system.exited).toBe(0);
    system = undefined;
  }, 240_000);
});
