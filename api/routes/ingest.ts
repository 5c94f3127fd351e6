import type { Context } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type * as v from "valibot";
import type { Config } from "../../infra/platform/config.ts";
import { admittingUntil } from "../../infra/platform/contracts/fields.ts";
import { type FieldError, validate } from "../../infra/platform/contracts/validate.ts";
import type { Producer } from "../../infra/platform/kafka/producer.ts";
import { type AuthEnv, requireScope } from "../http/auth.ts";
import { invalid, listing, problem } from "../http/errors.ts";
import type { Scope } from "../http/scopes.ts";

export type IngestTopic<S extends v.GenericSchema> = {
  path: string;
  topic: string;
  /** The scope a key needs to post here. */
  scope: Scope;
  schema: S;
  /** The record key: the entity the topic is keyed by. */
  key(event: v.InferOutput<S>): string;
  /** The partner an event claims to come from, when the contract has one. */
  partnerOf?(event: v.InferOutput<S>): string;
};

type ItemError = FieldError & { index: number };

class AckTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: Timer | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AckTimeout()), ms);
    }),
  ]);
}

/**
 * POST one event (a JSON object) or a batch (an array). All or nothing:
 * every item is checked against the topic's contract and the admission rule
 * (SPEC §3.7) before anything is produced, and 202 is answered only after
 * the broker acknowledged every
 * record (acks=all). A broker that fails or is too slow gets a 503 with
 * Retry-After; events of such a request may or may not have been written,
 * and a retry is safe because consumers count each event_id once.
 */
export function ingestRoutes<S extends v.GenericSchema>(
  spec: IngestTopic<S>,
  producer: Producer,
  config: Config,
): Hono<AuthEnv> {
  const tooLarge = (c: Context) =>
    problem(
      c,
      413,
      "payload_too_large",
      `request body exceeds INGEST_MAX_BODY_BYTES=${config.INGEST_MAX_BODY_BYTES} bytes`,
    );
  return new Hono<AuthEnv>().post(
    spec.path,
    requireScope(spec.scope),
    bodyLimit({ maxSize: config.INGEST_MAX_BODY_BYTES, onError: tooLarge }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch (error) {
        return problem(c, 400, "invalid_json", `request body is not valid JSON: ${(error as Error).message}`);
      }
      const items = Array.isArray(body) ? body : [body];
      if (items.length === 0) return problem(c, 400, "empty_batch", "the batch has no events");
      if (items.length > config.INGEST_MAX_BATCH) {
        return problem(
          c,
          413,
          "batch_too_large",
          `a batch holds at most INGEST_MAX_BATCH=${config.INGEST_MAX_BATCH} events, got ${items.length}`,
        );
      }

      const events: v.InferOutput<S>[] = [];
      const errors: ItemError[] = [];
      admittingUntil(Date.now() + config.MAX_CLOCK_SKEW_MS, () =>
        items.forEach((item, index) => {
          const result = validate(spec.schema, item);
          if (result.ok) events.push(result.value);
          else errors.push(...result.errors.map((error) => ({ index, ...error })));
        }),
      );
      if (errors.length > 0) {
        const bad = new Set(errors.map((e) => e.index)).size;
        return invalid(
          c,
          "invalid_events",
          `${bad} of ${items.length} events break the ${spec.topic} contract; nothing was accepted`,
          errors,
        );
      }

      const partnerId = c.var.partnerId;
      const foreign = spec.partnerOf
        ? events.flatMap((event, index) =>
            spec.partnerOf!(event) === partnerId
              ? []
              : [{ index, field: "partner_id", reason: `this API key belongs to partner ${partnerId}` }],
          )
        : [];
      if (foreign.length > 0) {
        return listing(c, 403, "forbidden", "events for another partner; nothing was accepted", foreign);
      }

      try {
        await withTimeout(
          producer.send(events.map((event) => ({ topic: spec.topic, key: spec.key(event), value: event }))),
          config.INGEST_ACK_TIMEOUT_MS,
        );
      } catch (error) {
        c.header("Retry-After", "1");
        const why =
          error instanceof AckTimeout
            ? `no acknowledgement within INGEST_ACK_TIMEOUT_MS=${config.INGEST_ACK_TIMEOUT_MS}`
            : (error as Error).message;
        return problem(c, 503, "broker_unavailable", `the broker did not take the events (${why}); retry later`);
      }
      return c.json({ accepted: events.length, topic: spec.topic }, 202);
    },
  );
}
