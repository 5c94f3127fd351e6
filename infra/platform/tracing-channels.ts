import diagnostics from "node:diagnostics_channel";

/**
 * Node's TracingChannel skips all tracing work while nobody subscribes
 * (`hasSubscribers`, and a fast path in each `trace*` method); Bun's has
 * neither. ioredis asks `hasSubscribers` before each command and, finding
 * it undefined, traced every one (a promise wrapped, its arguments copied
 * into a context): a fifth of the API's CPU in a lookup run.
 * @platformatic/kafka traces each request the same way. This gives Bun's
 * TracingChannel what Node's has, so an untraced command costs nothing.
 * Imported once by the modules that create those clients; harmless where
 * the runtime already has them.
 */
type Channel = { hasSubscribers: boolean };
type Traced = { start: Channel; end: Channel; asyncStart: Channel; asyncEnd: Channel; error: Channel };
type TraceMethod = (this: Traced, ...args: unknown[]) => unknown;
type Traceable = (...args: unknown[]) => unknown;

const prototype = Object.getPrototypeOf(diagnostics.tracingChannel("cdp:probe")) as Record<string, unknown>;

function hasSubscribers(this: Traced): boolean {
  return (
    this.start.hasSubscribers ||
    this.end.hasSubscribers ||
    this.asyncStart.hasSubscribers ||
    this.asyncEnd.hasSubscribers ||
    this.error.hasSubscribers
  );
}

if (!("hasSubscribers" in prototype)) {
  Object.defineProperty(prototype, "hasSubscribers", { get: hasSubscribers, configurable: true });
  // How many arguments sit between the function and its `this` (Node's signatures).
  const beforeThis = { traceSync: 1, tracePromise: 1, traceCallback: 2 };
  for (const [name, skipped] of Object.entries(beforeThis)) {
    const traced = prototype[name] as TraceMethod;
    Object.defineProperty(prototype, name, {
      value(this: Traced, fn: Traceable, ...after: unknown[]) {
        if (hasSubscribers.call(this)) return traced.call(this, fn, ...after);
        return fn.apply(after[skipped], after.slice(skipped + 1));
      },
      configurable: true,
      writable: true,
    });
  }
}
