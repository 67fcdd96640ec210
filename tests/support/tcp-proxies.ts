import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy, e.g. in front of gateways as a load balancer: `target` (a port) applies to new
 * connections, and `pause()` stops reading from upstream, as a client that stopped reading would.
 */
export interface TcpProxy {
  readonly port: number;
  target: number;
  pause(): void;
  resume(): void;
  /** Cuts the connections open now, as a network failure would; new ones go through. Returns how many. */
  cut(): number;
  close(): Promise<void>;
}

/** Sees each chunk a client sends before it goes upstream; call `forward` to send it, now or later. */
export type ClientDataHook = (chunk: Buffer, forward: () => void, connection: object) => void;

export async function startProxy(target: number, onClientData?: ClientDataHook): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let paused = false;
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(proxy.target, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    if (paused) upstream.pause();
    // No pipe(): its drain handling could resume a paused upstream.
    client.on('data', (chunk) => {
      if (onClientData === undefined) upstream.write(chunk);
      else onClientData(chunk, () => upstream.write(chunk), pair);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    endTogether(client, upstream, () => pairs.delete(pair));
  });
  const proxy: TcpProxy = {
    port: await listen(server),
    target,
    pause() {
      paused = true;
      for (const { upstream } of pairs) upstream.pause();
    },
    resume() {
      paused = false;
      for (const { upstream } of pairs) upstream.resume();
    },
    cut() {
      const count = pairs.size;
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      return count;
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** A TCP load balancer: each new connection goes to the next live target, round robin. */
export interface RoundRobinProxy {
  readonly port: number;
  /** Ports of the live targets; remove one when its process dies. */
  targets: number[];
  /** Connections handed to each target so far. */
  counts: Map<number, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targets: number[]): Promise<RoundRobinProxy> {
  const sockets = new Set<Socket>();
  let next = 0;
  const proxy: RoundRobinProxy = {
    port: 0,
    targets: [...targets],
    counts: new Map(),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((client) => {
    const live = proxy.targets;
    if (live.length === 0) {
      client.destroy();
      return;
    }
    const target = live[next++ % live.length] as number;
    proxy.counts.set(target, (proxy.counts.get(target) ?? 0) + 1);
    const upstream = tcpConnect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    endTogether(client, upstream, () => {
      sockets.delete(client);
      sockets.delete(upstream);
    });
  });
  (proxy as { port: number }).port = await listen(server);
  return proxy;
}

/** Once either socket of a pair closes or fails: `forget` it, and destroy both. */
function endTogether(client: Socket, upstream: Socket, forget: () => void): void {
  const end = () => {
    forget();
    client.destroy();
    upstream.destroy();
  };
  for (const socket of [client, upstream]) {
    socket.on('close', end);
    socket.on('error', end);
  }
}

/** Listens on a free port of 127.0.0.1; resolves with the port. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object', 'the proxy listens on a port');
  return address.port;
}
