import { createHash } from "node:crypto";

/**
 * A stand-in for the subscriber-key service (SPEC §2.4): GET
 * /v1/subscriber-keys/:memberId answers a key derived from the member id
 * (deterministic, so tests can check it). It can be told to misbehave, over
 * HTTP (POST /control) or from code: fail every call (503), answer slowly,
 * or always fail for given members (500).
 */

export type KeyServiceBehaviour = { failing: boolean; delayMs: number; failMembers: string[] };

export const subscriberKeyOf = (memberId: string) =>
  `sk_${createHash("sha256").update(`member:${memberId}`).digest("hex").slice(0, 24)}`;

export type KeyService = {
  url: string;
  behaviour: KeyServiceBehaviour;
  calls: { total: number; failed: number };
  stop(): Promise<void>;
};

export function startKeyService({ port = 0, hostname = "127.0.0.1" } = {}): KeyService {
  const behaviour: KeyServiceBehaviour = { failing: false, delayMs: 0, failMembers: [] };
  const calls = { total: 0, failed: 0 };
  const server = Bun.serve({
    port,
    hostname,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/control") {
        if (request.method === "POST") Object.assign(behaviour, (await request.json()) as Partial<KeyServiceBehaviour>);
        return Response.json({ behaviour, calls });
      }
      const match = url.pathname.match(/^\/v1\/subscriber-keys\/([^/]+)$/);
      if (!match || request.method !== "GET") return Response.json({ error: "not found" }, { status: 404 });
      const memberId = decodeURIComponent(match[1]!);
      calls.total++;
      if (behaviour.delayMs > 0) await Bun.sleep(behaviour.delayMs);
      if (behaviour.failing || behaviour.failMembers.includes(memberId)) {
        calls.failed++;
        return Response.json(
          { error: behaviour.failing ? "unavailable" : "key store error for this member" },
          { status: behaviour.failing ? 503 : 500 },
        );
      }
      return Response.json({ member_id: memberId, subscriber_key: subscriberKeyOf(memberId) });
    },
  });
  return { url: `http://${hostname}:${server.port}`, behaviour, calls, stop: () => server.stop(true) };
}
