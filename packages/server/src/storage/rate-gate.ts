/** Entries kept before expired ones are first swept. */
const FIRST_SWEEP = 1024;

/** What this process knows of a tenant over its limit: its arrival time (GCRA), in `performance.now()` ms. */
interface Known {
  tat: number;
  /** Milliseconds one event moves `tat` on: 1000 / limit. */
  interval: number;
  /** How far ahead of now `tat` may be after a write: the burst's worth of ms. */
  tolerance: number;
}

/**
 * The rate limit's front door in one process. The limit itself is kept in Redis, for every relay
 * (the append script's GCRA); this keeps, for each tenant that wrote lately, the arrival time its
 * own writes and Redis's refusals tell, and refuses here what Redis would refuse. Each write that
 * goes to Redis first reserves its events' share of the limit, so that concurrent requests of a
 * tenant at its limit do not all go to Redis to be refused there: a tenant flooding the relay costs
 * one Redis call per write that fits, its other requests are refused before they are parsed (see
 * `StreamAppender.checkRate`), and every other tenant's writes never wait behind its refused ones.
 *
 * It never refuses what Redis would accept: the arrival time it keeps is never later than Redis's
 * (a reservation is made before the write reaches Redis, a refusal is dated from before the call,
 * and other relays only move Redis's later), and a reservation whose write fails is given back.
 */
export class RateGate {
  readonly #known = new Map<string, Known>();
  /** The size at which the next sweep runs: twice what the last one kept, so that sweeps cost O(1) per refusal. */
  #sweepAt = FIRST_SWEEP;

  /**
   * Records Redis's refusal of `tenant` (its `limit` and `burst` as the script had them), whose
   * arrival time was `aheadMs` ahead of Redis's clock; `sentAt` is `performance.now()` before the call.
   */
  refused(tenant: string, limit: number, burst: number, sentAt: number, aheadMs: number): void {
    if (this.#known.size >= this.#sweepAt) this.#sweep();
    this.#known.set(tenant, { tat: sentAt + aheadMs, interval: 1000 / limit, tolerance: (burst * 1000) / limit });
  }

  /** Milliseconds until `count` events of `tenant` would fit, as far as this process knows; 0 when Redis should decide. */
  waitFor(tenant: string, count: number): number {
    const known = this.#current(tenant);
    if (known === undefined) return 0;
    return Math.max(0, known.tat + count * known.interval - known.tolerance - performance.now());
  }

  /**
   * Before a write of `count` events of `tenant`: the wait, as `waitFor`, or 0 after reserving
   * their share of its `limit`, `burst` events at most at once (given back by `release` if the
   * write fails).
   */
  reserve(tenant: string, count: number, limit: number, burst: number): number {
    const wait = this.waitFor(tenant, count);
    if (wait > 0) return wait;
    const now = performance.now();
    let known = this.#known.get(tenant);
    if (known === undefined) {
      if (this.#known.size >= this.#sweepAt) this.#sweep();
      known = { tat: now, interval: 1000 / limit, tolerance: (burst * 1000) / limit };
      this.#known.set(tenant, known);
    }
    known.tat = Math.max(known.tat, now) + count * known.interval;
    return 0;
  }

  /** Gives back what `reserve` took for a write that did not happen. */
  release(tenant: string, count: number): void {
    const known = this.#known.get(tenant);
    if (known !== undefined) known.tat -= count * known.interval;
  }

  /** The tenant's entry while it is ahead of now; past that the tenant is under its limit, and Redis decides alone. */
  #current(tenant: string): Known | undefined {
    const known = this.#known.get(tenant);
    if (known !== undefined && known.tat <= performance.now()) {
      this.#known.delete(tenant);
      return undefined;
    }
    return known;
  }

  #sweep(): void {
    const now = performance.now();
    for (const [tenant, known] of this.#known) if (known.tat <= now) this.#known.delete(tenant);
    this.#sweepAt = Math.max(FIRST_SWEEP, this.#known.size * 2);
  }
}
