/**
 * Resume: a client that has events up to an offset (`after`, the last `relayoffset` it got) gets
 * every stored event after it, then live ones, with no gap and no duplicate across the switch.
 * - `after` is checked here (`parseAfter`): from the query of a plain upgrade
 *   (upgrade/parse-upgrade.ts) or from a multiplexed `subscribe` message
 *   (protocol/multiplexed-session.ts);
 * - a subscription starts at `startOffset`: an offset trimmed by retention is refused there (410
 *   before a plain upgrade's 101, an error message in multiplexed mode), and so is one past the
 *   stream's last offset (409), whose events would be skipped; without `after`, it starts at the
 *   stream's last offset (live only);
 * - `TenantHub.join` (fanout/tenant-hub.ts) catches the subscriber up with the hub's `CatchUp`:
 *   pages of the stream outside the hub's queue (`fromStream`), then the last stretch up to the
 *   hub's `head` inside a hub task (`toHead`), where the subscriber joins live delivery.
 */
import { compareOffsets, isOffset, ServiceError, type StreamReader } from '@tenantcast/server';
import { Entry } from './entry.ts';
import type { Subscriber } from './subscriber.ts';

/** Checks an `after` offset: a stream entry id, or `0` for everything retained. */
export function parseAfter(after: string | undefined): string | undefined {
  if (after === undefined) return undefined;
  if (!isOffset(after)) {
    throw new ServiceError(
      'TC_ERR_BAD_OFFSET',
      `"after" is "${after.slice(0, 64)}"; pass a relayoffset such as 1700000000000-0, or 0 for every retained event.`,
    );
  }
  return after;
}

/**
 * Where a subscription starts: after `after`, once a read shows it was not trimmed (else
 * TC_ERR_OFFSET_EXPIRED, a 410 before the 101 rather than a close after it) and is not past the
 * stream's last offset (else TC_ERR_OFFSET_AHEAD, 409: events stored later with lower ids would be
 * skipped); without `after`, at the stream's last offset.
 */
export async function startOffset(store: StreamReader, tenant: string, after: string | undefined): Promise<string> {
  if (after === undefined) return store.lastOffset(tenant);
  await store.read(tenant, after, 1);
  return after;
}

/** A page of a tenant's stream, as entries on their way out. */
interface Page {
  entries: Entry[];
  more: boolean;
}

/** Hands an entry to one subscriber, unless it has it already or its filter says no. */
function offer(subscriber: Subscriber, entry: Entry): boolean {
  if (subscriber.closed || compareOffsets(entry.offset, subscriber.last) <= 0) return false;
  subscriber.last = entry.offset;
  if (!subscriber.matches(entry)) return false;
  subscriber.send(entry);
  return true;
}

/** One tenant's catch-up reads, for the subscribers that join its hub; each returns the messages it sent. */
export class CatchUp {
  readonly #store: StreamReader;
  readonly #tenant: string;
  readonly #pageSize: number;
  /** Catch-up reads in flight, by the offset they read after. */
  readonly #reads = new Map<string, Promise<Page>>();
  /** A catch-up read from 0-0 found the stream empty. */
  #foundEmpty = false;

  constructor(store: StreamReader, tenant: string, pageSize: number) {
    this.#store = store;
    this.#tenant = tenant;
    this.#pageSize = pageSize;
  }

  /**
   * Bulk catch-up from `subscriber.last`, while live delivery to others goes on; paced by the
   * client's send buffer. A subscriber that starts at the hub's `head` or past it (a live-only one,
   * or one resuming from where the hub is) has nothing to read: whatever follows `head` the hub
   * hands out live. On a tenant whose stream the hub found empty (`head` 0-0), joins read until one
   * read has found it still empty (those in flight together share it): that first read is where a
   * join races the tenant's first events, which tests/e2e/subscribe.test.ts forces through it.
   */
  async fromStream(subscriber: Subscriber, head: string): Promise<number> {
    let more = compareOffsets(subscriber.last, head) < 0 || (head === '0-0' && !this.#foundEmpty);
    let sent = 0;
    while (more && !subscriber.closed) {
      const page = await this.#read(subscriber.last);
      for (const entry of page.entries) {
        await subscriber.drain();
        if (offer(subscriber, entry)) sent++;
      }
      more = page.more;
    }
    return sent;
  }

  /**
   * The last stretch, from `subscriber.last` up to `head`: run inside a hub task, where `head` does
   * not move, so that the subscriber joins live delivery right after it.
   */
  async toHead(subscriber: Subscriber, head: string): Promise<number> {
    let sent = 0;
    while (!subscriber.closed && compareOffsets(subscriber.last, head) < 0) {
      const page = await this.#store.read(this.#tenant, subscriber.last, this.#pageSize, { until: head });
      for (const entry of page.entries) if (offer(subscriber, new Entry(entry.offset, entry.json))) sent++;
      if (!page.more) break;
    }
    return sent;
  }

  /**
   * A page of the stream after `after`, for catch-up. Subscribers that join at once from the same
   * offset (a burst of live-only joins, or clients reconnecting after a restart with the offset they
   * all reached) share one read in flight, and its entries: each event is parsed and framed once.
   */
  #read(after: string): Promise<Page> {
    let read = this.#reads.get(after);
    if (read === undefined) {
      read = this.#store.read(this.#tenant, after, this.#pageSize).then(
        (page) => {
          this.#reads.delete(after);
          if (after === '0-0' && page.entries.length === 0) this.#foundEmpty = true;
          const entries = new Array<Entry>(page.entries.length);
          for (let i = 0; i < entries.length; i++) entries[i] = new Entry(page.entries[i]!.offset, page.entries[i]!.json);
          return { entries, more: page.more };
        },
        (error: unknown) => {
          this.#reads.delete(after);
          throw error;
        },
      );
      this.#reads.set(after, read);
    }
    return read;
  }
}
