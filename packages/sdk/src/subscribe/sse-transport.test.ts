import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SseSocket } from './sse-transport.ts';

// The SSE transport against a real HTTP server: a stream that goes silent (a proxy that cut it
// without closing it) is given up after the idle timeout, so that subscribe reconnects and resumes.

test('a stream silent for the idle timeout closes with 1006, so that the client reconnects; heartbeats keep it open', async (t) => {
  const streams: ServerResponse[] = [];
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('id: 1700000000000-0\n\n');
    streams.push(res);
    // The second stream gets a heartbeat comment every 100 ms; the first nothing more.
    if (req.url?.includes('heartbeats')) {
      const beat = setInterval(() => res.write(':\n\n'), 100);
      res.on('close', () => clearInterval(beat));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const res of streams) res.destroy();
    server.close();
  });
  const { port } = server.address() as AddressInfo;

  const open = (tenant: string) => {
    const socket = new SseSocket(`ws://127.0.0.1:${port}/v1/connect?token=t`, 'tenantcast.v1', { headers: {} }, 400);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      socket.onclose = resolve;
    });
    const subscribed = new Promise<void>((resolve) => {
      socket.onmessage = () => resolve();
    });
    socket.onopen = () => socket.send(JSON.stringify({ op: 'subscribe', id: 's', tenantid: tenant }));
    return { socket, closed, subscribed };
  };

  const silent = open('silent');
  await silent.subscribed;
  const started = Date.now();
  const { code, reason } = await silent.closed;
  assert.equal(code, 1006);
  assert.match(reason, /no event or heartbeat for 400 ms/);
  assert.ok(Date.now() - started >= 350, 'not before the timeout');

  const beating = open('heartbeats');
  await beating.subscribed;
  const outcome = await Promise.race([
    beating.closed.then(() => 'closed'),
    new Promise((resolve) => setTimeout(() => resolve('open'), 1200)),
  ]);
  assert.equal(outcome, 'open', 'heartbeats every 100 ms keep a 400 ms idle timeout from firing');
  beating.socket.close();
});
