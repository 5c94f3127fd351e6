import type { Config } from "../../platform/config.ts";

export type ServerState = "running" | "external" | "starting" | "stopped";

export type ServerStatus = { name: string; version: string; port: number; state: ServerState };

/**
 * How `up` found a server: started now, already running (started by an
 * earlier `up`), or external (answering at the configured address but not
 * started by the stack: used, never stopped).
 */
export type UpResult = "started" | "running" | "external";

/** One server of the local stack. */
export type Server = {
  name: string;
  up(config: Config): Promise<UpResult>;
  down(config: Config): Promise<boolean>;
  status(config: Config): Promise<ServerStatus>;
};

/** running = answering and ours; external = answering, not ours. */
export function stateOf(answers: boolean, pid: number | undefined): ServerState {
  if (answers) return pid !== undefined ? "running" : "external";
  return pid !== undefined ? "starting" : "stopped";
}
