/**
 * The ceiling: a bare `ws` server with nothing but the fan-out. One Redis channel subscription per
 * tenant with clients (as the gateway has); each event of a message is framed once (a prebuilt
 * WebSocket text frame: header and payload in one buffer) and that buffer is written to each socket
 * of the tenant. No auth, no filters, no offsets, no backpressure: what the machine can do.
 */
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Redis } from 'ioredis';
import * as wsModule from 'ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { serve } from '../lib/rpc.ts';

/** ws's frame builder (exported at runtime, not in @types/ws). */
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

const redisUrl = process.argv[2]!;
const keyPrefix = process.argv[3] ?? 'bench:';
const subscriber = new Redis(redisUrl);
const byTenant = new Map<string, Set<WebSocket>>();
const channelOf = (tenant: string) => `${keyPrefix}{${tenant}}:live`;
const tenantOfChannel = new Map<string, string>();
const subscribing: Promise<unknown>[] = [];

subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
  const clients = byTenant.get(tenantOfChannel.get(channel.toString()) ?? '');
  if (clients === undefined) return;
  let start = 0;
  while (start < message.length) {
    let end = message.indexOf(0x0a, start);
    if (end < 0) end = message.length;
    const frame = Buffer.concat(
      Sender.frame(message.subarray(start, end), { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }),
    );
    for (const ws of clients) (ws as unknown as { _socket: Duplex })._socket.write(frame);
    start = end + 1;
  }
});

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
const server = createServer((_req, res) => res.writeHead(200).end('ok'));
server.on('upgrade', (request, socket, head) => {
  const tenant = new URL(request.url ?? '/', 'http://x').searchParams.get('tenant') ?? 'default';
  wss.handleUpgrade(request, socket, head, (ws) => {
    let clients = byTenant.get(tenant);
    if (clients === undefined) {
      clients = new Set();
      byTenant.set(tenant, clients);
      tenantOfChannel.set(channelOf(tenant), tenant);
      subscribing.push(subscriber.subscribe(channelOf(tenant)));
    }
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => {});
  });
});

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
serve(
  {
    /** Resolves once every tenant's channel subscription is in place. */
    settle: async () => {
      await Promise.all(subscribing);
      return byTenant.size;
    },
  },
  { port: typeof address === 'object' && address !== null ? address.port : 0 },
);
