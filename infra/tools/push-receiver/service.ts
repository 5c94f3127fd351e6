import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** A push as the receiver got it. */
export type ReceivedPush = { received_at: string; idempotency_key: string | null; repeated: boolean; action: unknown };

export type PushReceiver = { url: string; received: ReceivedPush[]; stop(): Promise<void> };

/**
 * A stand-in for the push provider (SPEC §2.1) for local work: `POST /push`
 * takes an action and answers 202, noting a repeated Idempotency-Key (a
 * provider would send it once); each push is kept in memory and appended as
 * a JSON line to `file`, which the console shows.
 */
export function startPushReceiver({
  port = 0,
  hostname = "127.0.0.1",
  file,
}: {
  port?: number;
  hostname?: string;
  file?: string;
} = {}): PushReceiver {
  const received: ReceivedPush[] = [];
  const seen = new Set<string>();
  if (file) mkdirSync(dirname(file), { recursive: true });
  const server = Bun.serve({
    port,
    hostname,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === "GET" && url.pathname === "/pushes") return Response.json(received.slice(-100));
      if (request.method !== "POST" || url.pathname !== "/push") return new Response("not found", { status: 404 });
      const action = await request.json().catch(() => undefined);
      if (action === undefined) return new Response("expected a JSON action", { status: 400 });
      const key = request.headers.get("idempotency-key");
      const push: ReceivedPush = {
        received_at: new Date().toISOString(),
        idempotency_key: key,
        repeated: key !== null && seen.has(key),
        action,
      };
      if (key !== null) seen.add(key);
      received.push(push);
      if (received.length > 10_000) received.shift();
      if (file) appendFileSync(file, `${JSON.stringify(push)}\n`);
      return new Response(null, { status: 202 });
    },
  });
  return { url: `http://${hostname}:${server.port}/push`, received, stop: () => server.stop(true) };
}
