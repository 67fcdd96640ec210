import type { StoredEvent } from '../api.ts';

// The history API pages forward only (`after`, oldest first). "Load older" pages back from the
// oldest event shown by picking an `after` some time before it (offsets are `<ms>-<seq>`): it reads
// forward to that oldest event and keeps the last page's worth, widening the window when it found
// nothing and narrowing it when one page could not reach the oldest event.

/** Reads one page of the tenant's history after an offset, oldest first. */
export type ReadPage = (after: string, limit: number) => Promise<{ events: StoredEvent[]; next: string | null }>;

const PAGE = 100;
const FIRST_WINDOW_MS = 60_000;
const MAX_TRIES = 24;

/** The millisecond part of an offset. */
function msOf(offset: string): number {
  return Number(offset.split('-')[0]);
}

/** Whether `a` is before `b` in the stream. */
function before(a: string, b: string): boolean {
  const [am, as = '0'] = a.split('-');
  const [bm, bs = '0'] = b.split('-');
  return Number(am) < Number(bm) || (Number(am) === Number(bm) && Number(as) < Number(bs));
}

/**
 * Up to a page of the events just before `oldest` (or the latest ones when nothing is shown yet),
 * oldest first, and whether older ones may remain. A 410 (retention trimmed past the guess) falls
 * back to the oldest retained events.
 */
export async function loadOlder(
  read: ReadPage,
  oldest: string | undefined,
  nowMs = Date.now(),
): Promise<{ events: StoredEvent[]; more: boolean }> {
  const end = oldest ?? `${nowMs + 60_000}-0`;
  let windowMs = FIRST_WINDOW_MS;
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const fromMs = Math.max(0, msOf(end) - windowMs);
    const after = fromMs === 0 ? '0' : `${fromMs}-0`;
    let page: Awaited<ReturnType<ReadPage>>;
    try {
      page = await read(after, PAGE);
    } catch (error) {
      if ((error as { status?: number }).status === 410 && after !== '0') {
        windowMs = msOf(end);
        continue;
      }
      throw error;
    }
    const kept = page.events.filter((e) => before(e.offset, end));
    const reachedEnd = page.next === null || kept.length < page.events.length;
    if (!reachedEnd) {
      // A full page that still ends before `oldest`: too wide a window, events would be skipped.
      windowMs = Math.max(1, Math.floor(windowMs / 4));
      continue;
    }
    if (kept.length === 0 && after !== '0') {
      windowMs *= 8;
      continue;
    }
    return { events: kept, more: after !== '0' };
  }
  return { events: [], more: false };
}
