import Redis from "ioredis";
import { aptInstall } from "./apt.ts";
import { isListening, portOf, useRemote, waitFor } from "./net.ts";
import { dir } from "./paths.ts";
import { runningPid, startDetached, stopByPid } from "./proc.ts";
import { type Server, type ServerStatus, stateOf } from "./server.ts";

/**
 * Redis at REDIS_URL when it answers; otherwise a project-local redis-server
 * (installed from Debian's packages when missing) on REDIS_URL's port, with
 * an append-only file under .runtime/redis.
 */

const NAME = "redis";

async function serverVersion(url: string): Promise<string | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    const info = await redis.info("server");
    return info.match(/redis_version:(\S+)/)?.[1];
  } finally {
    redis.disconnect();
  }
}

async function redisServerBinary(): Promise<string> {
  const found = Bun.which("redis-server");
  if (found) return found;
  await aptInstall(["redis-server"]);
  const installed = Bun.which("redis-server");
  if (!installed) throw new Error("redis-server was installed but is not on PATH");
  return installed;
}

export const redisServer: Server = {
  name: NAME,

  async up(config) {
    const url = config.REDIS_URL;
    const remote = await useRemote("Redis (REDIS_URL)", new URL(url).hostname, () => serverVersion(url));
    if (remote) return remote;
    const wasRunning = runningPid(NAME) !== undefined;
    if (!wasRunning) {
      if (await serverVersion(url).catch(() => undefined)) return "external";
      const port = portOf(url, 6379);
      if (await isListening(port))
        throw new Error(`port ${port} is open but Redis at REDIS_URL does not answer; check REDIS_URL`);
      startDetached(NAME, await redisServerBinary(), [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir("redis"),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
      ]);
    }
    await waitFor("Redis", () => serverVersion(url), { timeoutMs: 30_000 });
    return wasRunning ? "running" : "started";
  },

  async down() {
    return stopByPid(NAME);
  },

  async status(config): Promise<ServerStatus> {
    const version = await serverVersion(config.REDIS_URL).catch(() => undefined);
    const pid = runningPid(NAME);
    return {
      name: NAME,
      version: version ? `Redis ${version}` : "-",
      port: portOf(config.REDIS_URL, 6379),
      state: stateOf(version !== undefined, pid),
    };
  },
};
