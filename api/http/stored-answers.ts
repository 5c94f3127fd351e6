import type { Context } from "hono";
import type { RedisClient } from "../../infra/platform/redis-keys.ts";
import { etagOf, readStoredResponse } from "../../infra/platform/stored-response.ts";

export type StoredAnswer = { etag: string; body: Uint8Array };

/**
 * A lookup's answer as its worker stored it (bytes and ETag, nothing
 * parsed). A document committed before answers were stored has none: it is
 * rendered from its state by `fromState` until `bun run rebuild` stores it.
 */
export async function readStoredAnswer(
  redis: RedisClient,
  key: string,
  fromState: () => Promise<unknown | null>,
): Promise<StoredAnswer | null> {
  const stored = await redis.getBuffer(key);
  const answer = stored && readStoredResponse(stored);
  if (answer) return answer;
  const document = await fromState();
  return document === null ? null : renderAnswer(document);
}

/** A document rendered as a lookup sends it: its JSON and the ETag of those bytes. */
export function renderAnswer(document: unknown): StoredAnswer {
  const body = JSON.stringify(document);
  return { etag: etagOf(body), body: Buffer.from(body) };
}

export const sendStored = (c: Context, { etag, body }: StoredAnswer) =>
  c.body(body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/json", ETag: etag });
