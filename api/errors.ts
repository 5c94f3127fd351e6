import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error answer has the same shape: a stable code, a sentence, and details when there are any. */
export function problem(c: Context, status: ContentfulStatusCode, error: string, message: string, details?: Record<string, unknown>) {
  return c.json({ error, message, ...details }, status);
}
