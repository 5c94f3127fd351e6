import { connect } from "node:net";
import { join } from "node:path";
import { isListening, portOf, useRemote, waitFor } from "./net.ts";
import { dir } from "./paths.ts";
import { runningPid, startDetached, stopByPid } from "./proc.ts";
import { type Server, type ServerStatus, stateOf } from "./server.ts";

/**
 * An SMTP server at SMTP_URL when one answers; otherwise the project's mail
 * sink (infra/tools/smtp/sink-server.ts, on the smtp-server package) on that port,
 * storing what it receives under .runtime/smtp.
 */

const NAME = "smtp";

/** The server's 220 greeting, or undefined when nothing greets. */
function greeting(host: string, port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (value: string | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.once("data", (data) => {
      const line = data.toString().split("\r\n")[0] ?? "";
      // "220 <host> ESMTP <banner>": keep what names the server.
      done(line.startsWith("220") ? line.slice(4).replace(/^\S+\s+(ESMTP\s+)?/, "") || "SMTP" : undefined);
    });
  });
}

export const smtpServer: Server = {
  name: NAME,

  async up(config) {
    const url = new URL(config.SMTP_URL);
    const port = portOf(config.SMTP_URL, 25);
    const remote = await useRemote("SMTP (SMTP_URL)", url.hostname, () => greeting(url.hostname, port));
    if (remote) return remote;
    const wasRunning = runningPid(NAME) !== undefined;
    if (!wasRunning) {
      if (await greeting("127.0.0.1", port)) return "external";
      if (await isListening(port))
        throw new Error(`port ${port} is open but no SMTP server greets there; check SMTP_URL`);
      startDetached(NAME, process.execPath, [
        join(import.meta.dir, "..", "smtp", "sink-server.ts"),
        "--port",
        String(port),
        "--dir",
        dir("smtp"),
      ]);
    }
    await waitFor("the mail sink", () => greeting("127.0.0.1", port), { timeoutMs: 15_000 });
    return wasRunning ? "running" : "started";
  },

  async down() {
    return stopByPid(NAME);
  },

  async status(config): Promise<ServerStatus> {
    const port = portOf(config.SMTP_URL, 25);
    const banner = await greeting(new URL(config.SMTP_URL).hostname, port);
    return {
      name: NAME,
      version: banner ? banner.slice(0, 40) : "-",
      port,
      state: stateOf(banner !== undefined, runningPid(NAME)),
    };
  },
};
