import { CloseCode } from '@tenantcast/sdk';
import { compareOffsets, ServiceError, type StreamReader } from '@tenantcast/server';
import { Entry } from './entry.ts';
import { CatchUp } from './resume.ts';
import type { Subscriber } from './subscriber.ts';

/**
 * Failures after which the hub's subscribers cannot go on: their close code, and a reason that says
 * what to do (docs/protocol.md), within a close frame's 123 bytes.
 */
const ENDS_SUBSCRIBERS: Partial<Record<string, { code: number; reason: string }>> = {
  TC_ERR_OFFSET_EXPIRED: {
    code: CloseCode.OffsetExpired,
    reason: 'events were trimmed before they could be delivered; resume with after=0 or without after',
  },
  TC_ERR_OFFSET_AHEAD: { code: CloseCode.OffsetAhead, reason: 'Redis lost events it had handed out; resume with after=0 or without after' },
};

/** TC_ERR_OFFSET_AHEAD: a notification shows that the stream lost `head`, since its new entries follow `prev`. */
function lostHead(tenant: string, head: string, prev: string): ServiceError {
  return new ServiceError(
    'TC_ERR_OFFSET_AHEAD',
    `Tenant "${tenant}"'s stream no longer holds offset ${head} (its new entries follow ${prev}): Redis lost events; subscribe again with after=0 or without after, and reconcile.`,
  );
}

export interface HubDeps {
  store: StreamReader;
  /** Events per page when reading the stream. */
  pageSize: number;
  /** Called with the time, in ms, from a notification's arrival to the end of its fan-out. */
  onFanout(ms: number): void;
  /** Called with the number of event messages sent, live or catching up. */
  onSent(messages: number): void;
  /** Called when a hub's work fails (a Redis read); the hub retries with a resync. */
  onError(error: unknown): void;
}

/**
 * One tenant's fan-out in this gateway process. It follows the tenant's live notifications and
 * hands each new entry to every subscriber, in stream order, exactly once:
 * - work runs one task at a time, so deliveries and joins never interleave;
 * - `head` is the last offset handed out; a notification whose previous offset is past `head`
 *   reveals a gap (a missed notification), which is filled from the stream before going on;
 * - a subscriber joins after catching up from the stream (resume.ts), inside a task, so nothing
 *   falls between its catch-up and live delivery; each subscriber skips what it has (`last`).
 *
 * The live path does per subscriber only what it must: a subscriber that joined with `last` at or
 * before `head` has `last === head` after every delivery, and every live entry is past `head`, so it
 * takes each entry without an offset comparison; only one that joined ahead of `head` (its start was
 * read from the stream before the hub saw the notification of it) is compared, until `head` passes
 * it. A notification that arrives while no task is queued, and reveals no gap, is delivered at once
 * rather than as a task (no promise or closure per notification).
 */
export class TenantHub {
  readonly tenant: string;
  readonly #deps: HubDeps;
  readonly #subscribers = new Set<Subscriber>();
  /** Subscribers whose `last` is past `head`: live entries up to their `last` are not theirs. */
  readonly #ahead = new Set<Subscriber>();
  #head = '0-0';
  #tail: Promise<void> = Promise.resolve();
  /** Tasks queued and not yet settled. */
  #queued = 0;
  readonly #catchUp: CatchUp;
  /** Joins in progress, so that the hub is not disposed under them. */
  #joining = 0;

  constructor(tenant: string, deps: HubDeps) {
    this.tenant = tenant;
    this.#deps = deps;
    this.#catchUp = new CatchUp(deps.store, tenant, deps.pageSize);
  }

  /** Number of subscribers, joining ones included. */
  get size(): number {
    return this.#subscribers.size + this.#joining;
  }

  /** Sets `head` to the stream's last offset; called once the live channel is subscribed. */
  start(): Promise<void> {
    return this.#enqueue(async () => {
      this.#head = await this.#deps.store.lastOffset(this.tenant);
    });
  }

  /** A live notification: the previous offset, then `<offset> <json>` lines (docs/storage.md). */
  notify(payload: string): void {
    const received = performance.now();
    const end = payload.indexOf('\n');
    const prev = end < 0 ? payload : payload.slice(0, end);
    if (this.#queued === 0 && compareOffsets(prev, this.#head) <= 0) {
      // Nothing queued and no gap: this is the task that would run next; run it now.
      try {
        this.#notified(payload, prev, end, received, 0);
      } catch (error) {
        this.#recover(error);
      }
      return;
    }
    void this.#enqueue(async () => {
      let sent = 0;
      if (compareOffsets(prev, this.#head) > 0) sent += await this.#fill(prev);
      this.#notified(payload, prev, end, received, sent);
    });
  }

  /**
   * Delivers the `<offset> <json>` lines of a notification from `start` (its first newline) on.
   * Throws TC_ERR_OFFSET_AHEAD when the stream lost what the hub handed out: its first new entry
   * follows `prev`, an offset before `head`, where a stream that kept `head` would name `head` or later.
   */
  #notified(payload: string, prev: string, start: number, received: number, sent: number): void {
    let first = true;
    while (start >= 0) {
      const from = start + 1;
      start = payload.indexOf('\n', from);
      const line = start < 0 ? payload.slice(from) : payload.slice(from, start);
      const space = line.indexOf(' ');
      if (space < 0) continue;
      const offset = line.slice(0, space);
      if (compareOffsets(offset, this.#head) <= 0) {
        first = false;
        continue;
      }
      if (first && compareOffsets(prev, this.#head) < 0) throw lostHead(this.tenant, this.#head, prev);
      first = false;
      // A notification of one event, with nothing queued behind it: its frames may leave at once.
      sent += this.#deliver(new Entry(offset, line.slice(space + 1)), start < 0 && this.#queued === 0);
    }
    this.#deps.onFanout(performance.now() - received);
    this.#deps.onSent(sent);
  }

  /** Reads whatever the stream holds past `head`: after the live channel was down, say. */
  resync(): Promise<void> {
    return this.#enqueue(async () => {
      await this.#fill('+');
    });
  }

  /**
   * Adds a subscriber that has everything up to `subscriber.last`: it is caught up from the stream
   * in pages (outside the hub's queue), then the last stretch up to `head` is read inside a task,
   * where it joins live delivery. Throws (TC_ERR_OFFSET_EXPIRED) when `last` was trimmed.
   */
  async join(subscriber: Subscriber, arrived: () => void = () => {}): Promise<void> {
    // Bulk catch-up, while live delivery to others goes on.
    let sent = await this.#catchUp.fromStream(subscriber, this.#head);
    await this.#enqueue(async () => {
      sent += await this.#catchUp.toHead(subscriber, this.#head);
      // Counted out of the joining and into the subscribers in one step, so that it is never counted twice.
      arrived();
      if (!subscriber.closed) {
        this.#subscribers.add(subscriber);
        if (compareOffsets(subscriber.last, this.#head) > 0) this.#ahead.add(subscriber);
      }
    });
    this.#deps.onSent(sent);
  }

  /** Counts a subscriber that is on its way in (from before the hub is ready), so that the hub is kept and counted. */
  reserve(): () => void {
    this.#joining++;
    let done = false;
    return () => {
      if (!done) this.#joining--;
      done = true;
    };
  }

  /** Removes a subscriber. */
  leave(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber);
    this.#ahead.delete(subscriber);
  }

  /** Waits for the work queued so far. */
  idle(): Promise<void> {
    return this.#enqueue(async () => {});
  }

  /** Hands a live entry (past `head`) to every subscriber and moves `head`. Returns the number of messages sent. */
  #deliver(entry: Entry, alone = false): number {
    const offset = entry.offset;
    const ahead = this.#ahead;
    let sent = 0;
    for (const subscriber of this.#subscribers) {
      if (subscriber.closed) {
        this.#subscribers.delete(subscriber);
        ahead.delete(subscriber);
        continue;
      }
      if (ahead.size > 0 && ahead.has(subscriber)) {
        if (compareOffsets(offset, subscriber.last) <= 0) continue;
        ahead.delete(subscriber);
      }
      subscriber.last = offset;
      if (subscriber.matches(entry)) {
        subscriber.send(entry, alone);
        sent++;
      }
    }
    this.#head = offset;
    return sent;
  }

  /** Delivers the stream's entries after `head`, up to `until` ('+' for all). */
  async #fill(until: string): Promise<number> {
    let sent = 0;
    while (true) {
      const after = this.#head === '0-0' ? '0' : this.#head;
      const page = await this.#deps.store.read(this.tenant, after, this.#deps.pageSize, { until, handedOut: true });
      for (const entry of page.entries) sent += this.#deliver(new Entry(entry.offset, entry.json));
      if (!page.more) return sent;
    }
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    this.#queued++;
    const run = this.#tail.then(task);
    // The queue goes on after a failure; the failure also reaches whoever awaits this task.
    this.#tail = run.then(
      () => {
        this.#queued--;
      },
      (error) => {
        this.#queued--;
        this.#recover(error);
      },
    );
    return run;
  }

  #retry: NodeJS.Timeout | undefined;
  #disposed = false;

  /**
   * After a failed task nothing was lost: `head` did not move past what was not delivered. A resync
   * soon after reads the stream on from `head`. Two failures cannot be resynced, and every subscriber
   * is closed, so that none skips events unaware, and the hub starts again at the stream's end:
   * - retention trimmed events past `head` before they were delivered: 4010 (TC_ERR_OFFSET_EXPIRED);
   * - the stream no longer holds `head` (Redis lost data: a restart without persistence, a failover
   *   that lost writes), so events stored since may have ids at or before it: 4011 (TC_ERR_OFFSET_AHEAD).
   */
  #recover(error: unknown): void {
    // A task that fails after the hub was dropped (its gateway closed, say) has no one to recover for.
    if (this.#disposed) return;
    this.#deps.onError(error);
    const ends = error instanceof ServiceError ? ENDS_SUBSCRIBERS[error.code] : undefined;
    if (ends !== undefined) {
      for (const subscriber of this.#subscribers) subscriber.close(ends.code, ends.reason);
      this.#subscribers.clear();
      this.#ahead.clear();
      void this.start().catch(() => {});
      return;
    }
    this.#retry ??= setTimeout(() => {
      this.#retry = undefined;
      void this.resync().catch(() => {});
    }, 1000);
    this.#retry.unref();
  }

  /** Stops retries; called when the hub is disposed. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }
}
