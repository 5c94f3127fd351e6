import type { Client } from "@opensearch-project/opensearch";
import { type Change, Refused, type Sink } from "../worker.ts";

type BulkItem = Record<string, { status: number; error?: { type: string; reason?: string } }>;

/**
 * The index with these mappings: created if missing; an index made by an
 * earlier version is given the fields added since. A field whose type
 * changed cannot be: OpenSearch refuses the mappings, and then each
 * document it cannot index is refused on its own (dead-lettered).
 */
export async function ensureIndex(client: Client, index: string, mappings: object): Promise<void> {
  const { body: exists } = await client.indices.exists({ index });
  if (exists) {
    await client.indices
      .putMapping({ index, body: mappings as never })
      .catch((error: { meta?: { statusCode?: number } }) => {
        if (error.meta?.statusCode !== 400) throw error;
      });
    return;
  }
  await client.indices
    // A replica wherever a second node can hold it (none on a single node, which would stay yellow).
    .create({ index, body: { settings: { number_of_shards: 1, auto_expand_replicas: "0-1" }, mappings } })
    .catch((error: { meta?: { body?: { error?: { type?: string } } } }) => {
      // Another worker created it first.
      if (error.meta?.body?.error?.type !== "resource_already_exists_exception") throw error;
    });
}

/** A document id OpenSearch takes (at most 512 bytes): the key itself, or `#` and its SHA-256 when longer (keys never start with `#`: ids are percent-encoded). */
export const documentId = (key: string) =>
  Buffer.byteLength(key) <= 512 ? key : `#${new Bun.CryptoHasher("sha256").update(key).digest("hex")}`;

/**
 * Whole documents, bulk-indexed with the record offset as an external
 * version (SPEC §3.2), trailing the store (the runner writes them after the
 * state's commit): a replayed or older write is refused by OpenSearch as
 * a version conflict, which here means "already applied". A document refused
 * for its content (a 4xx such as a mapping or parse error) is a `Refused`
 * (the runner dead-letters the record behind it); anything else (429, 5xx,
 * no answer) is an error to retry.
 */
export function openSearchSink<S>(options: {
  client: Client;
  index: string;
  mappings: object;
  /** The document to index for a state; null removes it from the index. */
  document(state: S): object | null;
}): Sink<S> {
  const { client, index } = options;
  let ready: Promise<void> | undefined;
  return {
    name: `opensearch:${index}`,
    // Search follows the store: a lookup is readable as soon as the store commits.
    trailing: true,
    async write(changes: readonly Change<S>[]) {
      ready ??= ensureIndex(client, index, options.mappings).catch((error) => {
        ready = undefined;
        throw error;
      });
      await ready;
      const body = changes.flatMap((change) => {
        const meta = {
          _index: index,
          _id: documentId(change.key),
          version: Number(change.version),
          version_type: "external" as const,
        };
        const document = change.state === null ? null : options.document(change.state);
        return document === null ? [{ delete: meta }] : [{ index: meta }, document];
      });
      const { body: response } = await client.bulk({ body });
      if (!response.errors) return;
      const failures = (response.items as BulkItem[])
        .map((item) => Object.values(item)[0]!)
        .filter(
          (result) =>
            result.error && result.error.type !== "version_conflict_engine_exception" && result.status !== 404,
        );
      if (failures.length === 0) return;
      const first = `${failures[0]!.error!.type}: ${failures[0]!.error!.reason ?? ""}`;
      const refused = failures.every((f) => f.status >= 400 && f.status < 500 && f.status !== 408 && f.status !== 429);
      if (refused) throw new Refused(`OpenSearch refused the document for ${index}: ${first}`);
      throw new Error(`OpenSearch bulk into ${index}: ${failures.length} failed, first: ${first}`);
    },
    async reset() {
      await client.indices.delete({ index, ignore_unavailable: true });
      ready = undefined;
    },
    close: () => client.close(),
  };
}
