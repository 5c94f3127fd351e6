import { connect } from "node:net";

/** True when something accepts TCP connections on host:port. */
export function isListening(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (open: boolean) => {
      socket.destroy();
      done(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

/** The pids of the processes with a listening TCP socket on the port (`ss`, Linux), sorted; several share one with SO_REUSEPORT. */
export async function listeningPids(port: number): Promise<number[]> {
  const out = await new Response(Bun.spawn(["ss", "-Hltnp", `sport = :${port}`]).stdout).text();
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}

/** Poll `probe` until it returns a value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  {
    timeoutMs = 120_000,
    intervalMs = 500,
    failFast,
  }: { timeoutMs?: number; intervalMs?: number; failFast?: () => string | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const fatal = failFast?.();
    if (fatal) throw new Error(`${what}: ${fatal}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await Bun.sleep(intervalMs);
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : "";
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${reason}`);
}

/**
 * The stack only ever starts servers on this machine. A server configured
 * elsewhere is used when it answers ("external") and is an error otherwise;
 * undefined means the address is local and the caller manages it.
 */
export async function useRemote(
  what: string,
  host: string,
  answers: () => Promise<unknown>,
): Promise<"external" | undefined> {
  if (["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) return undefined;
  if (await answers().catch(() => undefined)) return "external";
  throw new Error(`${what} at ${host} does not answer; the local stack only starts servers on 127.0.0.1`);
}

export function portOf(url: string, fallback: number): number {
  const port = new URL(url).port;
  return port ? Number(port) : fallback;
}
