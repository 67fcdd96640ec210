import { type AppendResult, ServiceError, type StoredEventInput, type StreamAppender } from '@tenantcast/server';

/** At most this many single events go into one script call (fewer if the store's batch cap is lower). */
const MAX_MERGED = 100;

interface Pending {
  event: StoredEventInput;
  /** UTF-8 length of the event's JSON; 0 when the store has no cap on bytes. */
  bytes: number;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Single-event appends of one tenant that arrive in the same event-loop turn, stored with one script
 * call instead of one each: the script's fixed cost (the Redis round trip, the rate check, the
 * lookup of the stream's last offset, the trim and the live notification) is paid once per turn.
 * Each request keeps its own answer. When the merged call is refused by the rate limit, nothing was
 * written, and each event is appended on its own, in arrival order, as if the requests had come one
 * by one: those within the tenant's limit pass, the rest get their own 429. A merged call stays
 * within the store's caps on one call (`batchLimits`), so that many large single events of one turn
 * do not make one long call; an event over the cap on bytes alone goes alone, and only its request
 * is refused.
 */
export class SingleAppends {
  readonly #store: StreamAppender;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  #pending = new Map<string, Pending[]>();
  #scheduled = false;

  constructor(store: StreamAppender) {
    this.#store = store;
    this.#maxEvents = Math.min(MAX_MERGED, store.batchLimits.events);
    this.#maxBytes = store.batchLimits.bytes;
  }

  /** Appends one event of `tenant`, with the others of this turn. */
  append(tenant: string, event: StoredEventInput): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const item = { event, bytes: Number.isFinite(this.#maxBytes) ? Buffer.byteLength(event.json) : 0, resolve, reject };
      const queue = this.#pending.get(tenant);
      if (queue === undefined) this.#pending.set(tenant, [item]);
      else queue.push(item);
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After the poll phase: every request read in this turn has queued its event by then.
        setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [tenant, queue] of pending) {
      let part: Pending[] = [];
      let bytes = 0;
      for (const item of queue) {
        if (part.length > 0 && (part.length >= this.#maxEvents || bytes + item.bytes > this.#maxBytes)) {
          this.#send(tenant, part);
          part = [];
          bytes = 0;
        }
        part.push(item);
        bytes += item.bytes;
      }
      this.#send(tenant, part);
    }
  };

  #send(tenant: string, part: Pending[]): void {
    if (part.length === 1) this.#one(tenant, part[0]!);
    else void this.#merged(tenant, part);
  }

  #one(tenant: string, item: Pending): void {
    this.#store.append(tenant, [item.event]).then((results) => item.resolve(results[0]!), item.reject);
  }

  async #merged(tenant: string, part: Pending[]): Promise<void> {
    let results: AppendResult[];
    try {
      results = await this.#store.append(
        tenant,
        part.map((p) => p.event),
      );
    } catch (error) {
      // Over the tenant's limit this second (429), or as many events as the limit allows in a second (413).
      if (error instanceof ServiceError && (error.code === 'TC_ERR_RATE_LIMITED' || error.code === 'TC_ERR_BATCH_TOO_LARGE')) {
        // Nothing was written. One call each, sent in order on the one connection, so run in order.
        for (const item of part) this.#one(tenant, item);
      } else {
        for (const item of part) item.reject(error);
      }
      return;
    }
    for (let i = 0; i < part.length; i++) part[i]!.resolve(results[i]!);
  }
}
