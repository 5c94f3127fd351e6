import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { FieldError } from "../../infra/platform/contracts/validate.ts";

/** Every error answer has the same shape: a stable code, a sentence, and details when there are any. */
export function problem(
  c: Context,
  status: ContentfulStatusCode,
  error: string,
  message: string,
  details?: Record<string, unknown>,
) {
  return c.json({ error, message, ...details }, status);
}

/** Item errors an answer lists at most; `error_count` says how many there were. */
const MAX_LISTED_ERRORS = 100;

/** An error naming what is wrong: the first MAX_LISTED_ERRORS problems and their count, so a huge bad body gets a small answer. */
export function listing<E extends FieldError>(
  c: Context,
  status: ContentfulStatusCode,
  error: string,
  message: string,
  errors: readonly E[],
) {
  return problem(c, status, error, message, { errors: errors.slice(0, MAX_LISTED_ERRORS), error_count: errors.length });
}

/** 400 listing the problems. */
export const invalid = <E extends FieldError>(c: Context, error: string, message: string, errors: readonly E[]) =>
  listing(c, 400, error, message, errors);

/** A store or the broker that cannot be reached (rather than a bug): 503, worth retrying. */
export function isUnavailable(error: unknown): boolean {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  return (
    ["ConnectionError", "TimeoutError", "NoLivingConnectionsError", "MaxRetriesPerRequestError"].includes(name ?? "") ||
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "CONNECT_TIMEOUT",
      "CONNECTION_CLOSED",
      "CONNECTION_ENDED",
      "CONNECTION_DESTROYED",
    ].includes(code ?? "") ||
    /Connection is closed|Stream isn't writeable/.test(String((error as Error)?.message))
  );
}
