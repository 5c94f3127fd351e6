import type { Config } from "../infra/config.ts";
import { profileWorker } from "./profiles/worker.ts";
import type { Worker } from "./worker.ts";

/**
 * The pipelines' workers by name, each built from the configuration. Each
 * pipeline issue adds its worker here; `bun run workers [names...]` runs
 * them all in one process, or the named ones.
 */
export const WORKERS: Record<string, (config: Config) => Worker<any, any>> = {
  profiles: profileWorker,
};
