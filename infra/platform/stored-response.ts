/**
 * A view's answer, stored by its worker beside the fold state in the same
 * atomic commit, so a lookup sends bytes without parsing or re-serializing
 * anything: `<etag>\n<json body>` (JSON never holds a raw newline). The ETag
 * is a hash of the body, so it changes exactly when the bytes do; folding
 * the same state again (a rebuild) keeps it.
 */

/** The ETag of a body; also for answers built per request (a lookup with parameters). */
export const etagOf = (body: string) => `"${Bun.hash(body).toString(36)}"`;

export function storedResponse(document: unknown): string {
  const body = JSON.stringify(document);
  return `${etagOf(body)}\n${body}`;
}

/** Split what `storedResponse` wrote; undefined if it is not in that form. */
export function readStoredResponse(stored: Buffer): { etag: string; body: Buffer } | undefined {
  const newline = stored.indexOf(10);
  if (newline < 3) return undefined;
  return { etag: stored.toString("latin1", 0, newline), body: stored.subarray(newline + 1) };
}
