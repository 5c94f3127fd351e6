import { chownSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import type { Config } from "../../platform/config.ts";
import { aptInstall } from "./apt.ts";
import { isListening, portOf, useRemote, waitFor } from "./net.ts";
import { dir } from "./paths.ts";
import { logFile, recordPid, runningPid, runToEnd, stopByPid } from "./proc.ts";
import { type Server, type ServerStatus, stateOf } from "./server.ts";

/**
 * Postgres at DATABASE_URL when it answers; otherwise a project-local server
 * (Debian's binaries, installed when missing) on DATABASE_URL's port. Either
 * way the database named in the URL is created when absent.
 */

const NAME = "postgres";

/** The same server, but its always-present `postgres` database. */
function adminUrl(url: string): string {
  const u = new URL(url);
  u.pathname = "/postgres";
  return u.toString();
}

async function serverVersion(url: string): Promise<string | undefined> {
  const sql = postgres(adminUrl(url), { max: 1, connect_timeout: 2, idle_timeout: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ server_version: string }[]>`show server_version`;
    return row?.server_version;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1)) || "postgres";
  const sql = postgres(adminUrl(url), { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const found = await sql`select 1 from pg_database where datname = ${name}`;
    if (found.length === 0) await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
  } catch (error) {
    // Another process may have created it a moment ago.
    if (!String(error).includes("already exists")) throw error;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function binaries(): Promise<string> {
  const find = () => {
    const root = "/usr/lib/postgresql";
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    return versions[0] ? join(root, versions[0], "bin") : undefined;
  };
  const found = find();
  if (found) return found;
  await aptInstall(["postgresql"]);
  const installed = find();
  if (!installed) throw new Error("postgresql was installed but no initdb was found under /usr/lib/postgresql");
  return installed;
}

/** initdb refuses to run as root; run Postgres as the Debian `postgres` user. */
function asPostgres(command: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...command] : command;
}

async function startLocal(config: Config): Promise<void> {
  const bin = await binaries();
  const data = dir("postgres", "data");
  const sockets = dir("postgres", "sockets");
  if (process.getuid?.() === 0) {
    const uid = Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim());
    const gid = Number(Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim());
    for (const path of [data, sockets]) chownSync(path, uid, gid);
    if (!existsSync(logFile(NAME))) Bun.write(logFile(NAME), "");
    chownSync(logFile(NAME), uid, gid);
  }
  if (!existsSync(join(data, "PG_VERSION"))) {
    const user = decodeURIComponent(new URL(config.DATABASE_URL).username) || "postgres";
    await runToEnd(asPostgres([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", user, "-E", "UTF8"]), "initdb");
  }
  const port = portOf(config.DATABASE_URL, 5432);
  await runToEnd(
    asPostgres([
      join(bin, "pg_ctl"),
      "-D",
      data,
      "-l",
      logFile(NAME),
      "-w",
      "-o",
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${sockets}`,
      "start",
    ]),
    "pg_ctl start",
  );
  const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  recordPid(NAME, pid);
}

export const postgresServer: Server = {
  name: NAME,

  async up(config) {
    const url = config.DATABASE_URL;
    const remote = await useRemote("Postgres (DATABASE_URL)", new URL(url).hostname, () => serverVersion(url));
    if (remote) {
      await ensureDatabase(url);
      return remote;
    }
    const ours = runningPid(NAME) !== undefined;
    const answering = ours || (await serverVersion(url).catch(() => undefined)) !== undefined;
    if (!answering) {
      const port = portOf(url, 5432);
      if (await isListening(port))
        throw new Error(`port ${port} is open but Postgres at DATABASE_URL does not answer; check DATABASE_URL`);
      await startLocal(config);
    }
    await waitFor("Postgres", () => serverVersion(url), { timeoutMs: 60_000 });
    await ensureDatabase(url);
    return ours ? "running" : answering ? "external" : "started";
  },

  async down() {
    // SIGINT is Postgres' "fast" shutdown: it does not wait for clients.
    return stopByPid(NAME, 30_000, "SIGINT");
  },

  async status(config): Promise<ServerStatus> {
    const version = await serverVersion(config.DATABASE_URL).catch(() => undefined);
    const pid = runningPid(NAME);
    return {
      name: NAME,
      version: version ? `PostgreSQL ${version}` : "-",
      port: portOf(config.DATABASE_URL, 5432),
      state: stateOf(version !== undefined, pid),
    };
  },
};
