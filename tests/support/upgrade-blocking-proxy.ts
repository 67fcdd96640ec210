import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { onEnd } from './cleanup.ts';

/**
 * A corporate proxy that blocks WebSockets: it answers every upgrade request with 403 and a page
 * of its own (HTML, no tenantcast error body), and forwards every other request to the gateway.
 */
export interface UpgradeBlockingProxy {
  readonly port: number;
  /** Upgrades refused so far. */
  readonly refusedUpgrades: number;
  /** Plain requests forwarded so far, by their request line (`GET /v1/… HTTP/1.1`, the query left out). */
  readonly forwarded: string[];
}

const BLOCKED_PAGE = '<!doctype html><title>Blocked</title><p>WebSockets are not allowed on this network.</p>';
const BLOCKED = [
  'HTTP/1.1 403 Forbidden',
  'Content-Type: text/html; charset=utf-8',
  `Content-Length: ${Buffer.byteLength(BLOCKED_PAGE)}`,
  'Connection: close',
  '',
  BLOCKED_PAGE,
].join('\r\n');

/** Starts the proxy in front of the gateway at `gatewayUrl`, closed when test `t` ends. */
export async function startUpgradeBlockingProxy(t: Parameters<typeof onEnd>[0], gatewayUrl: string): Promise<UpgradeBlockingProxy> {
  const target = Number(new URL(gatewayUrl).port);
  const sockets = new Set<Socket>();
  const state = { refusedUpgrades: 0, forwarded: [] as string[] };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    // One request per connection: the head decides, then the connection is the gateway's or closed.
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (!head.includes('\r\n\r\n')) return;
      client.off('data', onData);
      const text = head.toString('latin1');
      if (/^upgrade:\s*websocket/im.test(text)) {
        state.refusedUpgrades++;
        client.end(BLOCKED);
        return;
      }
      state.forwarded.push(text.slice(0, text.indexOf('\r\n')).replace(/\?\S*/, ''));
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
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the proxy has no port');
  onEnd(t, async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: address.port,
    get refusedUpgrades() {
      return state.refusedUpgrades;
    },
    forwarded: state.forwarded,
  };
}
