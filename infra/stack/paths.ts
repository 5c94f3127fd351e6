import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

/** Everything the local stack writes lives under one ignored folder. */
export const ROOT = resolve(import.meta.dir, "../..");
export const RUNTIME = join(ROOT, ".runtime");
export const JARS = join(RUNTIME, "jars");
export const LOGS = join(RUNTIME, "logs");
export const PIDS = join(RUNTIME, "pids");

export function dir(...parts: string[]): string {
  const path = join(RUNTIME, ...parts);
  mkdirSync(path, { recursive: true });
  return path;
}
