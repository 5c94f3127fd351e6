import type * as v from "valibot";
import { decodeJson, describeErrors } from "../../infra/platform/contracts/validate.ts";
import type { Decoded, InputRecord } from "./worker.ts";

/** A worker's `decode` from its topic's contract: JSON, validated, or the reason it is not. */
export function decodeWith<S extends v.GenericSchema>(schema: S): (record: InputRecord) => Decoded<v.InferOutput<S>> {
  return (record) => {
    const result = decodeJson(schema, record.value);
    return result.ok ? { ok: true, event: result.value } : { ok: false, reason: describeErrors(result.errors) };
  };
}
