import type { Config } from "../infra/platform/config.ts";
import type { WorkerName } from "../infra/platform/topology.ts";
import { attributedCheckoutsWorker, attributionWorker } from "./attribution/worker.ts";
import { startOutboxCapture } from "./capture/outbox.ts";
import { identityTableWorker, identityWorker } from "./identities/worker.ts";
import { notifierWorker } from "./notifier/worker.ts";
import {
  contentViewsWorker,
  enrichWorker,
  popularContentWorker,
  userActivityWorker,
} from "./personalization/worker.ts";
import { personsWorker, profileWorker } from "./profiles/worker.ts";
import type { Running } from "./runtime/runner.ts";
import type { Worker } from "./runtime/worker.ts";
import { socialEdgesWorker, userInfoWorker } from "./userinfo/worker.ts";
import { augmenterWorker } from "./welcome/augmenter.ts";
import { emailerWorker } from "./welcome/emailer.ts";

// biome-ignore lint/suspicious/noExplicitAny: each worker has its own event and state types; the runner takes any of them
type AnyWorker = Worker<any, any>;

export type WorkerEntry = (
  | { create(config: Config): AnyWorker }
  /** Not a fold under the runner: a source that runs itself (the outbox capture). */
  | { start(config: Config): Promise<Running> }
) & {
  /** Settings without which the worker cannot run; when unset, "all workers" skips it and naming it is an error. */
  requires?: readonly (keyof Config)[];
};

/**
 * The implementation of each worker the topology declares (the type makes
 * them match one for one). `bun run workers [names...]` runs them all in one
 * process, or the named ones.
 */
export const WORKER_ENTRIES: Record<WorkerName, WorkerEntry> = {
  capture: { start: (config) => startOutboxCapture(config) },
  augmenter: { create: (config) => augmenterWorker(config), requires: ["SUBSCRIBER_KEY_URL"] },
  emailer: { create: (config) => emailerWorker(config) },
  profiles: { create: profileWorker },
  identities: { create: (config) => identityWorker(config) },
  "warehouse-identities": { create: (config) => identityTableWorker(config) },
  persons: { create: (config) => personsWorker(config) },
  notifier: { create: (config) => notifierWorker(config), requires: ["PUSH_WEBHOOK_URL"] },
  "social-edges": { create: (config) => socialEdgesWorker(config) },
  userinfo: { create: (config) => userInfoWorker(config) },
  attribution: { create: (config) => attributionWorker(config) },
  "attributed-checkouts": { create: (config) => attributedCheckoutsWorker(config) },
  enrich: { create: (config) => enrichWorker(config) },
  "user-activity": { create: (config) => userActivityWorker(config) },
  "popular-content": { create: (config) => popularContentWorker(config) },
  "content-views": { create: (config) => contentViewsWorker(config) },
};
