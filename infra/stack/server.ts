import type { Config } from "../config.ts";

export type ServerState = "running" | "external" | "starting" | "stopped";

export type ServerStatus = { name: string; version: string; port: number; state: ServerState; pid?: number };

/**
 * One server of the local stack. `up` returns "external" when a server was
 * already answering at the configured address (it is used, never stopped).
 */
export type Server = {
  name: string;
  up(config: Config): Promise<"started" | "external">;
  down(config: Config): Promise<boolean>;
  status(config: Config): Promise<ServerStatus>;
};

/** running = answering and ours; external = answering, not ours. */
export function stateOf(answers: boolean, pid: number | undefined): ServerState {
  if (answers) return pid !== undefined ? "running" : "external";
  return pid !== undefined ? "starting" : "stopped";
}
