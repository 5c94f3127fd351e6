import type { ClickstreamEvent } from "../../infra/platform/contracts/clickstream.ts";
import { clickstreamGenerator } from "../../infra/tools/datagen/clickstream.ts";

/** datagen's events trimmed to about 300 bytes of JSON, the record size the ingest figures use. */
export function benchEvents(
  count: number,
  options: { runId: string; users: number; partner: string; seed?: number },
): ClickstreamEvent[] {
  const generator = clickstreamGenerator({
    users: options.users,
    partners: 1,
    seed: options.seed ?? 7,
    runId: options.runId,
    // The figures look users up by user_id: every event carries one.
    identities: false,
  });
  return Array.from({ length: count }, () => {
    const { user_agent, version, page_type, partner_name, ...event } = generator.next();
    const compact = Object.fromEntries(Object.entries(event).filter(([, value]) => value !== null)) as ClickstreamEvent;
    return { ...compact, partner_id: options.partner };
  });
}

export const averageBytes = (events: unknown[]) =>
  Math.round(events.reduce<number>((n, e) => n + JSON.stringify(e).length, 0) / events.length);
