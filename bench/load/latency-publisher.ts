/**
 * Load process: POSTs single events to the relay at a steady rate, round-robin over tenants, for
 * the latency scenario. Open loop: each event is due at a fixed time and carries that time in
 * data.t, so that a request that waits (for a free connection, for the relay) counts its wait.
 * Raw HTTP/1.1 over kept-alive sockets, one request in flight per socket, as http-load.ts.
 */
import { connect, type Socket } from 'node:net';
import { now } from '../lib/clock.ts';
import { benchEvent } from '../lib/events.ts';
import { serve } from '../lib/rpc.ts';

export interface LatencyPublishParams {
  port: number;
  token: string;
  tenants: string[];
  eventsPerSecond: number;
  durationMs: number;
  connections: number;
  run: string;
}

interface Conn {
  socket: Socket;
  busy: boolean;
  pending: Buffer;
  onAnswer?: (status: number) => void;
}

const conns: Conn[] = [];

async function open(port: number): Promise<Conn> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
  const conn: Conn = { socket, busy: false, pending: Buffer.alloc(0) };
  socket.on('data', (chunk: Buffer) => {
    conn.pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
    while (true) {
      const headerEnd = conn.pending.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const headerText = conn.pending.toString('latin1', 0, headerEnd);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headerText)?.[1] ?? 0);
      if (conn.pending.length < headerEnd + 4 + length) return;
      conn.pending = conn.pending.subarray(headerEnd + 4 + length);
      conn.busy = false;
      conn.onAnswer?.(Number(headerText.slice(9, 12)));
    }
  });
  socket.on('error', () => {});
  return conn;
}

serve({
  async publish(params: LatencyPublishParams) {
    while (conns.length < params.connections) conns.push(await open(params.port));
    const statuses = new Map<number, number>();
    const backlog: string[] = [];
    let answered = 0;
    const head = `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${params.port}\r\nAuthorization: Bearer ${params.token}\r\nContent-Type: application/cloudevents+json\r\nContent-Length: `;
    const sendOn = (conn: Conn, body: string) => {
      conn.busy = true;
      conn.socket.write(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    for (const conn of conns) {
      conn.onAnswer = (status) => {
        answered++;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const next = backlog.shift();
        if (next !== undefined) sendOn(conn, next);
      };
    }
    const total = Math.round((params.eventsPerSecond * params.durationMs) / 1000);
    const interval = 1000 / params.eventsPerSecond;
    const startAt = now();
    let maxBacklog = 0;
    for (let n = 0; n < total; n++) {
      const due = startAt + n * interval;
      const wait = due - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const tenant = params.tenants[n % params.tenants.length]!;
      const body = JSON.stringify(benchEvent(tenant, `${params.run}-${n}`, n, due));
      const idle = conns.find((c) => !c.busy);
      if (idle !== undefined) sendOn(idle, body);
      else {
        backlog.push(body);
        maxBacklog = Math.max(maxBacklog, backlog.length);
      }
    }
    const until = Date.now() + 30_000;
    while (answered < total && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
    return { startAt, endAt: now(), events: total, answered, statuses: Object.fromEntries(statuses), maxBacklog };
  },
});
