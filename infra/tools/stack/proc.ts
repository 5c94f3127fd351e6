import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dir } from "./paths.ts";

/**
 * Stack servers run detached in their own process group, with a pid file
 * under .runtime/pids, so `stack down` can stop exactly what `up` started
 * (and nothing it merely found running).
 */

const pidFile = (name: string) => join(dir("pids"), `${name}.pid`);
export const logFile = (name: string) => join(dir("logs"), `${name}.log`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); treat it as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Stop `name` and every `name-*` recorded (a cluster's nodes, or one a test
 * started and left behind); true when any was running.
 */
export async function stopAllNamed(name: string, graceMs?: number): Promise<boolean> {
  const names = readdirSync(dir("pids"))
    .filter((file) => file.endsWith(".pid"))
    .map((file) => file.slice(0, -".pid".length))
    .filter((recorded) => recorded === name || recorded.startsWith(`${name}-`));
  return (await Promise.all(names.map((recorded) => stopByPid(recorded, graceMs)))).some(Boolean);
}

/** The pid recorded for a stack server, when that process is still alive. */
export function runningPid(name: string): number | undefined {
  if (!existsSync(pidFile(name))) return undefined;
  const pid = Number(readFileSync(pidFile(name), "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

export function startDetached(
  name: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): number {
  const log = openSync(logFile(name), "a");
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  writeFileSync(pidFile(name), `${child.pid}\n`);
  return child.pid;
}

/** Record a pid of a server that daemonizes itself (e.g. pg_ctl). */
export function recordPid(name: string, pid: number): void {
  writeFileSync(pidFile(name), `${pid}\n`);
}

/** Signal the process group (SIGTERM unless told), wait, then SIGKILL what is left. */
export async function stopByPid(name: string, graceMs = 20_000, signal: NodeJS.Signals = "SIGTERM"): Promise<boolean> {
  const pid = runningPid(name);
  if (pid === undefined) {
    rmSync(pidFile(name), { force: true });
    return false;
  }
  signalGroup(pid, signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await Bun.sleep(200);
  if (isAlive(pid)) signalGroup(pid, "SIGKILL");
  while (isAlive(pid)) await Bun.sleep(100);
  rmSync(pidFile(name), { force: true });
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Last lines of a server's log, for error messages. */
export function tail(name: string, lines = 20): string {
  if (!existsSync(logFile(name))) return "";
  return readFileSync(logFile(name), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Run a command to completion without blocking the event loop (other
 * servers' start-up probes keep running); throw with its output on failure.
 */
export async function runToEnd(command: string[], what: string, env?: Record<string, string>): Promise<string> {
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) {
    const output = `${stdout}${stderr}`.trim().split("\n").slice(-15).join("\n");
    throw new Error(`${what} failed (exit ${code}):\n${output}`);
  }
  return stdout;
}
