import { afterAll, describe, expect, test } from "bun:test";
import type { PushAction } from "../infra/platform/contracts/actions.ts";
import { postAction } from "../workers/notifier/deliver.ts";
import { withRetries } from "../workers/runtime/retry.ts";
import { requestSubscriberKey } from "../workers/welcome/subscriber-key.ts";

/**
 * The push webhook and the subscriber-key service answered every way a
 * service can answer, by a real HTTP server on loopback: what is retried
 * (408, 429, 5xx, no answer, refused connections) and what never is (any
 * other 4xx, a 2xx without a key).
 */
let answer: { status: number; delayMs?: number; body?: unknown } = { status: 200 };
const seen: { path: string; idempotencyKey: string | null }[] = [];
const server = Bun.serve({
  port: 0,
  async fetch(request) {
    seen.push({ path: new URL(request.url).pathname, idempotencyKey: request.headers.get("idempotency-key") });
    if (answer.delayMs) await Bun.sleep(answer.delayMs);
    return Response.json(answer.body ?? {}, { status: answer.status });
  },
});
afterAll(() => server.stop(true));

const url = `http://127.0.0.1:${server.port}`;
const action: PushAction = {
  action_id: "a/1",
  kind: "add_to_cart_promotion",
  event_id: "a/1",
  partner_id: "p 1",
  user_id: "u1",
  occurred_at: "2026-11-26T00:00:00.000Z",
};
const push = () => postAction(`${url}/push`, action, 200);
const key = () => requestSubscriberKey(url, "member 7", 200);

describe("service calls, classified for retries", () => {
  const cases: [number, boolean][] = [
    [400, false],
    [401, false],
    [404, false],
    [409, false],
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
  ];
  for (const [status, retryable] of cases) {
    test(`HTTP ${status} is ${retryable ? "" : "not "}retried, by the notifier and the augmenter alike`, async () => {
      answer = { status };
      for (const attempt of [await push(), await key()]) {
        expect(attempt.ok).toBe(false);
        expect(attempt).toMatchObject({ retryable, reason: expect.stringContaining(`HTTP ${status}`) });
      }
    });
  }

  test("no answer within the timeout is retried and says so", async () => {
    answer = { status: 200, delayMs: 600 };
    for (const attempt of [await push(), await key()])
      expect(attempt).toEqual({ ok: false, retryable: true, reason: "no answer within 200 ms" });
  });

  test("a refused connection is retried", async () => {
    const closed = Bun.serve({ port: 0, fetch: () => new Response() });
    const port = closed.port;
    closed.stop(true);
    const attempt = await postAction(`http://127.0.0.1:${port}/push`, action, 200);
    expect(attempt).toMatchObject({ ok: false, retryable: true, reason: expect.stringContaining("request failed") });
  });

  test("a 2xx delivers a push with its idempotency key; a key service 2xx without a usable key is not retried", async () => {
    answer = { status: 204 };
    seen.length = 0;
    expect(await push()).toEqual({ ok: true });
    expect(seen).toEqual([{ path: "/push", idempotencyKey: "p%201:a%2F1" }]);
    answer = { status: 200, body: { subscriber_key: "" } };
    expect(await key()).toEqual({
      ok: false,
      retryable: false,
      reason: "key service answered without a subscriber_key",
    });
    answer = { status: 200, body: { subscriber_key: "sk-7" } };
    expect(await key()).toEqual({ ok: true, subscriberKey: "sk-7" });
    expect(seen.at(-1)?.path).toBe("/v1/subscriber-keys/member%207");
  });

  test("withRetries stops at a non-retryable answer and after the last attempt of a retryable one", async () => {
    answer = { status: 404 };
    seen.length = 0;
    expect(await withRetries(() => push(), { maxAttempts: 5, baseMs: 1 })).toEqual({
      ok: false,
      attempts: 1,
      reason: "webhook answered HTTP 404",
    });
    answer = { status: 429 };
    expect(await withRetries(() => push(), { maxAttempts: 3, baseMs: 1 })).toEqual({
      ok: false,
      attempts: 3,
      reason: "webhook answered HTTP 429",
    });
    expect(seen.length).toBe(4);
  });
});
