import type { ConnectParams, WaitResult } from '../load/ws-clients.ts';
import { Worker } from './rpc.ts';

/** WebSocket clients spread over several load processes (bench/load/ws-clients.ts). */
export class ClientPool {
  readonly workers: Worker[];
  #counts: number[] = [];

  private constructor(workers: Worker[]) {
    this.workers = workers;
  }

  static async start(processes: number): Promise<ClientPool> {
    const workers = await Promise.all(
      Array.from({ length: processes }, (_, i) => Worker.start(`ws-clients-${i}`, 'bench/load/ws-clients.ts')),
    );
    return new ClientPool(workers);
  }

  /** Opens one client per URL, the URLs dealt round-robin to the processes. */
  async connect(
    urls: string[],
    options: Omit<ConnectParams, 'urls'>,
  ): Promise<{ connected: number; failed: number; ms: number; errors: Record<string, number> }> {
    const parts: string[][] = this.workers.map(() => []);
    for (const [i, url] of urls.entries()) parts[i % parts.length]!.push(url);
    const results = await Promise.all(
      this.workers.map((w, i) =>
        w.call<{ connected: number; failed: number; ms: number; errors: Record<string, number> }>(
          'connect',
          { ...options, urls: parts[i] },
          600_000,
        ),
      ),
    );
    this.#counts = results.map((r) => r.connected);
    const errors: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    return {
      connected: results.reduce((n, r) => n + r.connected, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      ms: Math.max(...results.map((r) => r.ms)),
      errors,
    };
  }

  /** Clients connected in each process. */
  get counts(): readonly number[] {
    return this.#counts;
  }

  /** Arms every process to wait for `perClient` messages on each of its clients. */
  async arm(perClient: number, latencySamplesPerProcess?: number): Promise<void> {
    await Promise.all(
      this.workers.map((w, i) => w.call('arm', { expected: perClient * (this.#counts[i] ?? 0), latencySamples: latencySamplesPerProcess })),
    );
  }

  /** Waits for what was armed; sums the counts, spans the times. */
  async wait(
    timeoutMs: number,
    settleMs = 0,
  ): Promise<{
    received: number;
    firstAt: number;
    lastAt: number;
    timedOut: boolean;
    closed: number;
    latencies: Float64Array[];
  }> {
    const results = await Promise.all(
      this.workers.map((w) => w.call<WaitResult>('wait', { timeoutMs, settleMs }, timeoutMs + settleMs + 30_000)),
    );
    const withData = results.filter((r) => r.received > 0);
    return {
      received: results.reduce((n, r) => n + r.received, 0),
      firstAt: withData.length ? Math.min(...withData.map((r) => r.firstAt)) : 0,
      lastAt: withData.length ? Math.max(...withData.map((r) => r.lastAt)) : 0,
      timedOut: results.some((r) => r.timedOut),
      closed: results.reduce((n, r) => n + r.closed, 0),
      latencies: results.flatMap((r) => (r.latencies ? [r.latencies] : [])),
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call('close', undefined, 30_000).catch(() => {})));
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
