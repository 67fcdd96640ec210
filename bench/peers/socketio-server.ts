/**
 * The peer, node A: a Socket.IO server with @socket.io/redis-streams-adapter that holds the clients.
 * Each client authenticates with the same JWT as the gateway's (verified with the SDK) and joins
 * the room of its tenant. Events reach it from node B (socketio-emitter.ts) through the Redis stream.
 */
import { createServer } from 'node:http';
import { verifyToken } from '@tenantcast/sdk/tokens';
import { Server } from 'socket.io';
import { serve } from '../lib/rpc.ts';
import { peerAdapter, roomOf } from './socketio-common.ts';

const redisUrl = process.argv[2]!;
const secret = process.argv[3]!;

const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  adapter: peerAdapter(redisUrl),
});
io.use((socket, next) => {
  const token = (socket.handshake.auth as { token?: string }).token ?? '';
  verifyToken(token, secret).then(
    (claims) => {
      const tenant = String(socket.handshake.query.tenant ?? '');
      if (claims.tenants !== '*' && !claims.tenants.has(tenant)) return next(new Error('forbidden tenant'));
      (socket.data as { tenant: string }).tenant = tenant;
      next();
    },
    () => next(new Error('unauthorized')),
  );
});
io.on('connection', (socket) => {
  void socket.join(roomOf((socket.data as { tenant: string }).tenant));
});

await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
const address = httpServer.address();
serve({ clients: () => io.engine.clientsCount }, { port: typeof address === 'object' && address !== null ? address.port : 0 });
