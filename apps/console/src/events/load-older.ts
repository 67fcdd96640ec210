import type { StoredEvent } from '../api.ts';

/** Reads the page of the tenant's history just before an offset (or the stream's `end`), oldest first. */
export type ReadBefore = (before: string, limit: number) => Promise<{ events: StoredEvent[]; previous: string | null }>;

const PAGE = 100;

/**
 * "Load older": the page of events just before `oldest`, the oldest event shown (or the stream's
 * latest when nothing is shown yet), oldest first, and whether older ones remain. The relay's
 * history pages back with `before` (docs/api.md), so no event is skipped or repeated however many
 * share a millisecond.
 */
export async function loadOlder(read: ReadBefore, oldest: string | undefined): Promise<{ events: StoredEvent[]; more: boolean }> {
  const page = await read(oldest ?? 'end', PAGE);
  return { events: page.events, more: page.previous !== null };
}
