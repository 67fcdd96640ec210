import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { onEnd } from './cleanup.ts';

/**
 * A TCP front of a gateway, as a load balancer or the gateway itself under load would answer: the
 * next `refuse(n)` upgrades get `status` with a gateway refusal body and Retry-After, and so does
 * the plain GET a browser client sends next to learn why (docs/protocol.md); everything else goes
 * through to the gateway.
 */
export interface RefusingFront {
  readonly port: number;
  /** Refuses the next `count` upgrades with `status` and `code`, with `Retry-After: retryAfter` when given. */
  refuse(count: number, status: number, code: string, retryAfter?: number): void;
  /** Upgrades refused so far. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Starts a front of the gateway at `gatewayUrl`, closed when test `t` ends. */
export async function startRefusingFront(t: Parameters<typeof onEnd>[0], gatewayUrl: string): Promise<RefusingFront> {
  const target = Number(new URL(gatewayUrl).port);
  const sockets = new Set<Socket>();
  let pending = 0;
  let answer = '';
  let refused = 0;
  /** Whether the last upgrade was refused: the plain GET that follows from a browser is refused too. */
  let lastRefused = false;

  function serve(client: Socket, head: Buffer): void {
    const text = head.toString('latin1');
    const upgrade = /^upgrade:\s*websocket/im.test(text);
    if (upgrade) lastRefused = pending > 0;
    if ((upgrade && lastRefused) || (!upgrade && lastRefused && /^GET /.test(text))) {
      if (upgrade) {
        pending--;
        refused++;
      }
      client.end(answer);
      return;
    }
    const upstream = tcpConnect(target, '127.0.0.1');
    sockets.add(upstream);
    upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
    for (const socket of [client, upstream]) {
      socket.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
        upstream.destroy();
      });
      socket.on('error', () => socket.destroy());
    }
  }

  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    // Reads the request head, then decides.
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (!head.includes('\r\n\r\n')) return;
      client.off('data', onData);
      serve(client, head);
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const front: RefusingFront = {
    port: address.port,
    refuse(count, status, code, retryAfter) {
      pending = count;
      const body = JSON.stringify({ error: { code, message: `refused by the front with ${status}` } });
      const headers = [
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        ...(retryAfter === undefined ? [] : [`Retry-After: ${retryAfter}`]),
        // As the gateway answers a plain GET on a WebSocket endpoint, so that a page can read it.
        'Access-Control-Allow-Origin: *',
        'Access-Control-Expose-Headers: Retry-After',
        'Connection: close',
      ];
      answer = `${headers.join('\r\n')}\r\n\r\n${body}`;
    },
    get refused() {
      return refused;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  onEnd(t, () => front.close());
  return front;
}
