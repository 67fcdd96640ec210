/**
 * Load process: POST /v1/events over kept-alive HTTP/1.1 connections, as fast as the relay answers.
 * It speaks HTTP on raw sockets (one request in flight per connection, like autocannon), so that
 * the generator costs as little CPU as it can: the relay runs on the same two cores.
 * Each event has an id of its own (the relay dedupes), built from a template, not re-serialized.
 */
import { connect, type Socket } from 'node:net';
import { now } from '../lib/clock.ts';
import { benchEvent } from '../lib/events.ts';
import { serve } from '../lib/rpc.ts';

export interface HttpLoadParams {
  port: number;
  token: string;
  tenant: string;
  /**
   * Several tenants instead: request i carries tenant `tenants[i % n]` (each request one tenant, as a
   * batch must), e.g. tenants whose slots cover every shard of a Redis Cluster. Overrides `tenant`.
   */
  tenants?: string[];
  /** Events per request: 1 sends structured mode, more sends a batch. */
  batch: number;
  connections: number;
  durationMs: number;
  /** Makes event ids unique across runs. */
  run: string;
}

export interface HttpLoadResult {
  /** Requests answered 202 within the duration. */
  requests: number;
  events: number;
  elapsedMs: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
}

const ID_MARK = '__ID__';

serve({
  async run(params: HttpLoadParams): Promise<HttpLoadResult> {
    // One template per tenant, split around the id; with one tenant, the index is always 0.
    const templates = (params.tenants?.length ? params.tenants : [params.tenant]).map(
      (tenant) => JSON.stringify(benchEvent(tenant, ID_MARK, 0)).split(ID_MARK) as [string, string],
    );
    let turn = 0;
    const head = `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${params.port}\r\nAuthorization: Bearer ${params.token}\r\nContent-Type: ${
      params.batch === 1 ? 'application/cloudevents+json' : 'application/cloudevents-batch+json'
    }\r\nContent-Length: `;
    let seq = 0;
    const body = (): string => {
      const t = templates[turn++ % templates.length]!;
      if (params.batch === 1) return t[0] + params.run + '-' + seq++ + t[1];
      const parts: string[] = [];
      for (let i = 0; i < params.batch; i++) parts.push(t[0] + params.run + '-' + seq++ + t[1]);
      return `[${parts.join(',')}]`;
    };

    const statuses = new Map<number, number>();
    const latencies: number[] = [];
    let requests = 0;
    let running = true;
    const startAt = now();
    const endAt = startAt + params.durationMs;

    const run = (socket: Socket) =>
      new Promise<void>((resolve) => {
        let pending: Buffer = Buffer.alloc(0);
        let sentAt = 0;
        const send = () => {
          if (!running || now() >= endAt) {
            running = false;
            socket.end();
            resolve();
            return;
          }
          const b = body();
          sentAt = now();
          socket.write(`${head}${Buffer.byteLength(b)}\r\n\r\n${b}`);
        };
        socket.on('data', (chunk: Buffer) => {
          pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
          while (true) {
            const headerEnd = pending.indexOf('\r\n\r\n');
            if (headerEnd < 0) return;
            const headerText = pending.toString('latin1', 0, headerEnd);
            const status = Number(headerText.slice(9, 12));
            const match = /\r\ncontent-length:\s*(\d+)/i.exec(headerText);
            const length = match ? Number(match[1]) : 0;
            const total = headerEnd + 4 + length;
            if (pending.length < total) return;
            pending = pending.subarray(total);
            const at = now();
            if (at <= endAt) {
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
              if (status === 202) {
                requests++;
                latencies.push(at - sentAt);
              }
            }
            send();
          }
        });
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        send();
      });

    const sockets = await Promise.all(
      Array.from(
        { length: params.connections },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const socket = connect(params.port, '127.0.0.1', () => resolve(socket));
            socket.setNoDelay(true);
            socket.once('error', reject);
          }),
      ),
    );
    await Promise.all(sockets.map(run));
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
    return {
      requests,
      events: requests * params.batch,
      elapsedMs: params.durationMs,
      statuses: Object.fromEntries(statuses),
      p50Ms: q(0.5),
      p99Ms: q(0.99),
    };
  },
});
