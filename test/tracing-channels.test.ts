import { describe, expect, test } from "bun:test";
import diagnostics from "node:diagnostics_channel";
// ioredis' own wrapper around each command: what it does with the runtime's TracingChannel.
import { traceCommand } from "ioredis/built/tracing.js";
import "../infra/platform/tracing-channels.ts";

type Context = Record<string, unknown>;
type TracingChannel = {
  hasSubscribers: boolean;
  tracePromise(fn: (...args: unknown[]) => unknown, context?: Context, thisArg?: unknown, ...args: unknown[]): unknown;
  traceSync(fn: (...args: unknown[]) => unknown, context?: Context, thisArg?: unknown, ...args: unknown[]): unknown;
  traceCallback(
    fn: (...args: unknown[]) => unknown,
    position?: number,
    context?: Context,
    thisArg?: unknown,
    ...args: unknown[]
  ): unknown;
};
const channelNamed = (name: string) => diagnostics.tracingChannel(name) as unknown as TracingChannel;

describe("TracingChannel as Node has it", () => {
  test("with nobody subscribed, ioredis builds no trace context and gets its command's own promise back", async () => {
    let contexts = 0;
    const answer = Promise.resolve("OK");
    const returned = traceCommand(
      () => answer,
      () => {
        contexts++;
        return { command: "get", args: ["k"], database: 0, serverAddress: "127.0.0.1", serverPort: 6379 };
      },
    );
    expect(returned).toBe(answer);
    expect(contexts).toBe(0);
    expect(channelNamed("ioredis:command").hasSubscribers).toBe(false);
  });

  test("with nobody subscribed, each trace method calls the function with its this and arguments, and nothing else", () => {
    const channel = channelNamed(`cdp-test-untraced-${Math.random()}`);
    const self = { factor: 3 };
    function times(this: typeof self, n: unknown) {
      return this.factor * (n as number);
    }
    const marker = Promise.resolve(1);
    expect(channel.traceSync(times, {}, self, 2)).toBe(6);
    expect(channel.tracePromise(() => marker, {})).toBe(marker);
    let called: unknown[] = [];
    channel.traceCallback(
      function (this: typeof self, n: unknown, done: unknown) {
        (done as (error: null, value: number) => void)(null, this.factor * (n as number));
      },
      1,
      {},
      self,
      5,
      (...args: unknown[]) => {
        called = args;
      },
    );
    expect(called).toEqual([null, 15]);
  });

  test("once one of its channels has a subscriber, tracing happens: its start and async end see the context", async () => {
    const name = `cdp-test-traced-${Math.random()}`;
    const channel = channelNamed(name);
    const seen: string[] = [];
    const on = (event: string) => (message: unknown) => seen.push(`${event} ${(message as Context).id}`);
    diagnostics.subscribe(`tracing:${name}:start`, on("start"));
    diagnostics.subscribe(`tracing:${name}:asyncEnd`, on("asyncEnd"));
    expect(channel.hasSubscribers).toBe(true);
    const context: Context = { id: "c1" };
    expect(await channel.tracePromise(async () => 42, context)).toBe(42);
    expect(seen).toEqual(["start c1", "asyncEnd c1"]);
    expect(context.result).toBe(42);
  });
});
