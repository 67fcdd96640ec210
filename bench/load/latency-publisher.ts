/**
 * Load process: POSTs single events to the relay at a steady rate, round-robin over tenants, for
 * the latency scenario. Open loop (bench/lib/open-loop.ts): each event is due at a fixed time and
 * carries that time in `benchts`, so that a request that waits (for a free connection, for the
 * relay) counts its wait. Raw HTTP/1.1 over kept-alive sockets (Nagle off), one request in flight
 * per socket, as http-load.ts. Records its own hops: due → written, due → 202.
 *
 * Arguments: the Redis URL and key prefix, for the `--hops` notification probe.
 */
import { connect, type Socket } from 'node:net';
import { now } from '../lib/clock.ts';
import { benchEvent } from '../lib/events.ts';
import { NotificationWatch } from '../lib/notification-watch.ts';
import { type OpenLoopParams, type OpenLoopResult, openLoop, Samples } from '../lib/open-loop.ts';
import { serve } from '../lib/rpc.ts';

export interface LatencyPublishParams extends OpenLoopParams {
  port: number;
  token: string;
  connections: number;
  /** Stamp the live notifications too (the `--hops` probe). */
  hops?: boolean;
}

interface Conn {
  socket: Socket;
  busy: boolean;
  pending: Buffer;
  /** Due time and body of the request in flight. */
  due: number;
  body: string;
  closed: boolean;
  onAnswer?: (status: number, due: number) => void;
  /** The relay closed the socket (its keep-alive timeout between runs, say). */
  onClose?: () => void;
}

const redisUrl = process.argv[2];
const keyPrefix = process.argv[3] ?? 'bench:';
const conns = new Map<number, Conn[]>();
let watch: NotificationWatch | undefined;

async function open(port: number): Promise<Conn> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
  const conn: Conn = { socket, busy: false, pending: Buffer.alloc(0), due: 0, body: '', closed: false };
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
      conn.onAnswer?.(Number(headerText.slice(9, 12)), conn.due);
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    conn.closed = true;
    conn.onClose?.();
  });
  return conn;
}

serve({
  async publish(params: LatencyPublishParams): Promise<OpenLoopResult> {
    let pool = conns.get(params.port);
    if (pool === undefined) {
      pool = [];
      conns.set(params.port, pool);
    }
    // Sockets the relay closed since the last run (RELAY_KEEP_ALIVE_TIMEOUT_MS) are replaced.
    for (let i = pool.length - 1; i >= 0; i--) if (pool[i]!.closed) pool.splice(i, 1);
    while (pool.length < params.connections) pool.push(await open(params.port));
    if (params.hops && watch === undefined && redisUrl !== undefined) watch = await NotificationWatch.start(redisUrl, keyPrefix);
    const expected = Math.round((params.eventsPerSecond * params.durationMs) / 1000);
    const sendLag = new Samples(expected);
    const answer = new Samples(expected);
    const notified = params.hops ? new Samples(expected) : undefined;
    if (watch) watch.samples = notified;
    const statuses: Record<string, number> = {};
    const backlog: Array<{ body: string; due: number }> = [];
    let answered = 0;
    const head = `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:${params.port}\r\nAuthorization: Bearer ${params.token}\r\nContent-Type: application/cloudevents+json\r\nContent-Length: `;
    const sendOn = (conn: Conn, body: string, due: number, resent = false) => {
      conn.busy = true;
      conn.due = due;
      conn.body = body;
      conn.socket.write(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
      if (!resent) sendLag.add(now() - due);
    };
    const attach = (conn: Conn) => {
      conn.onAnswer = (status, due) => {
        answer.add(now() - due);
        answered++;
        statuses[status] = (statuses[status] ?? 0) + 1;
        const next = backlog.shift();
        if (next !== undefined) sendOn(conn, next.body, next.due);
      };
      // A socket closed under a request: a new one takes its place and sends the request again
      // (the relay dedupes it by source and id), as an HTTP client retries on a reused socket.
      conn.onClose = () => {
        void open(params.port).then((fresh) => {
          pool.splice(pool.indexOf(conn), 1, fresh);
          attach(fresh);
          if (conn.busy) sendOn(fresh, conn.body, conn.due, true);
          else {
            const next = backlog.shift();
            if (next !== undefined) sendOn(fresh, next.body, next.due);
          }
        });
      };
    };
    for (const conn of pool) attach(conn);
    const { startAt, total } = await openLoop(params, (n, tenant, due) => {
      const body = JSON.stringify(benchEvent(tenant, `${params.run}-${n}`, n, due));
      const idle = pool.find((c) => !c.busy);
      if (idle !== undefined) sendOn(idle, body, due);
      else backlog.push({ body, due });
    });
    const until = Date.now() + 30_000;
    while (answered < total && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const conn of pool) conn.onClose = undefined;
    if (watch) watch.samples = undefined;
    return {
      startAt,
      endAt: now(),
      events: total,
      answered,
      statuses,
      sendLag: sendLag.values(),
      answer: answer.values(),
      ...(notified ? { notified: notified.values() } : {}),
    };
  },
});
