/**
 * Per source (a topic-partition an event entered through), the newest
 * source offset applied. A fold whose events reach it through a repartition
 * or another stage (and so may arrive twice: a producer retry, a stage
 * replayed after a crash) keeps one of these in its state: an event at or
 * below its source's offset was applied already.
 */
export type SourceOffsets = Readonly<Record<string, string>>;

/** The offsets with this event's recorded, or null when the event is a replay (applied already). */
export function applyOnce(applied: SourceOffsets, source: string, offset: string): SourceOffsets | null {
  const last = applied[source];
  if (last !== undefined && BigInt(offset) <= BigInt(last)) return null;
  return { ...applied, [source]: offset };
}
