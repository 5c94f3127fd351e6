import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { config } from "../../platform/config.ts";

/** Everything the local stack writes (jars, data, logs, pids) lives under RUNTIME_DIR. */
export const runtimePath = (...parts: string[]) => join(config().RUNTIME_DIR, ...parts);

/** A folder under RUNTIME_DIR, created when missing. */
export function dir(...parts: string[]): string {
  const path = runtimePath(...parts);
  mkdirSync(path, { recursive: true });
  return path;
}
