import { now } from './clock.ts';

/** What every open-loop latency publisher is asked to do (bench/load/*-publisher.ts, the Socket.IO emitter). */
export interface OpenLoopParams {
  tenants: string[];
  eventsPerSecond: number;
  durationMs: number;
  /** A label that makes event ids unique across runs. */
  run: string;
}

/** What each publisher answers: its own hops, as the latency scenario reports them (ms, due time first). */
export interface OpenLoopResult {
  startAt: number;
  endAt: number;
  events: number;
  answered: number;
  statuses: Record<string, number>;
  /** Due → handed to the socket (or to the SDK): how late the publisher itself was. */
  sendLag?: Float64Array;
  /** Due → the relay's answer (202), or the SDK's promise resolved. */
  answer?: Float64Array;
  /** Due → the live notification seen by a Redis subscriber in the publisher's process (`--hops`). */
  notified?: Float64Array;
}

/**
 * Calls `send(n, tenant, due)` for each event at its due time, round-robin over the tenants: open
 * loop, so that a late event does not delay the next ones, and each carries the time it was due.
 * Timers are coarse (about 1 ms): events that fell due while waiting go out together, as they would
 * from a busy service.
 */
export async function openLoop(
  params: OpenLoopParams,
  send: (n: number, tenant: string, due: number) => void,
): Promise<{ startAt: number; total: number }> {
  const total = Math.round((params.eventsPerSecond * params.durationMs) / 1000);
  const interval = 1000 / params.eventsPerSecond;
  const startAt = now();
  for (let n = 0; n < total; n++) {
    const due = startAt + n * interval;
    const wait = due - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    send(n, params.tenants[n % params.tenants.length]!, due);
  }
  return { startAt, total };
}

/** A fixed-size recorder of latencies (ms). */
export class Samples {
  readonly #values: Float64Array;
  #count = 0;
  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }
  add(ms: number): void {
    if (this.#count < this.#values.length) this.#values[this.#count++] = ms;
  }
  get count(): number {
    return this.#count;
  }
  values(): Float64Array {
    return this.#values.slice(0, this.#count);
  }
}
