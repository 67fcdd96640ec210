import { type AppendResult, ServiceError, type StoredEventInput, type StreamAppender } from '@tenantcast/server';

/** At most this many single events go into one script call. */
const MAX_MERGED = 100;

interface Pending {
  event: StoredEventInput;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Single-event appends of one tenant that arrive in the same event-loop turn, stored with one script
 * call instead of one each: the script's fixed cost (the Redis round trip, the rate check, the
 * lookup of the stream's last offset, the trim and the live notification) is paid once per turn.
 * Each request keeps its own answer. When the merged call is refused by the rate limit, nothing was
 * written, and each event is appended on its own, in arrival order, as if the requests had come one
 * by one: those within the tenant's limit pass, the rest get their own 429.
 */
export class SingleAppends {
  readonly #store: StreamAppender;
  #pending = new Map<string, Pending[]>();
  #scheduled = false;

  constructor(store: StreamAppender) {
    this.#store = store;
  }

  /** Appends one event of `tenant`, with the others of this turn. */
  append(tenant: string, event: StoredEventInput): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const queue = this.#pending.get(tenant);
      if (queue === undefined) this.#pending.set(tenant, [{ event, resolve, reject }]);
      else queue.push({ event, resolve, reject });
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
      for (let start = 0; start < queue.length; start += MAX_MERGED) {
        const part = start === 0 && queue.length <= MAX_MERGED ? queue : queue.slice(start, start + MAX_MERGED);
        if (part.length === 1) this.#one(tenant, part[0]!);
        else void this.#merged(tenant, part);
      }
    }
  };

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
      if (error instanceof ServiceError && (error.code === 'TC_ERR_RATE_LIMITED' || error.code === 'TC_ERR_PAYLOAD_TOO_LARGE')) {
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
