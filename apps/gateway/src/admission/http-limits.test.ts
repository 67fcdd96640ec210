import assert from 'node:assert/strict';
import { type Socket, connect as tcpConnect } from 'node:net';
import { describe, test } from 'node:test';
import { TIMEOUT_CHECK_INTERVAL_MS } from '@tenantcast/server';
import { connect, makeEvent, plainUrl, scrapeMetric, sleep, uniqueTenant, until, within } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

// The gateway's HTTP server bounds what a client may hold before it is a WebSocket, as the relay's
// does (issue #16, finding 1): headers and request timeouts, and a cap on connections open at once.

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 1500;

/** Opens a TCP connection to `url`'s port; resolves once it is connected. */
function tcp(url: string): Promise<Socket> {
  const socket = tcpConnect(Number(new URL(url).port), '127.0.0.1');
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('connect', () => resolve(socket)));
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('timeouts', () => {
  const own = useGateway({ gateway: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS } });

  test('upgrade headers sent a byte at a time are cut at the headers timeout', async (t) => {
    const socket = await tcp(own.gateway.url);
    t.after(() => socket.destroy());
    const request = `GET /v1/tenants/${uniqueTenant('slow')}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n`;
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < request.length && !socket.destroyed) socket.write(request[sent++]!);
    }, 100);
    t.after(() => clearInterval(drip));
    await within(closed(socket), 'the trickling connection to be closed', HEADERS_TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + 2000);
    assert.ok(sent < request.length, 'cut before the headers were complete');
  });

  test('a WebSocket outlives the request timeout: once upgraded it is no request', async (t) => {
    const tenant = uniqueTenant('long');
    const client = await connect(t, plainUrl(own.gateway.wsUrl, tenant), { token: own.token });
    await sleep(REQUEST_TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + 500);
    await own.writer.publish([makeEvent(tenant, { id: 'late' })]);
    assert.deepEqual(
      (await client.receivedId('late')).map((e) => e.id),
      ['late'],
    );
    assert.equal(client.closeInfo, undefined);
  });
});

describe('connection cap', () => {
  const own = useGateway({ gateway: { maxConnections: 3 } });

  test('past GATEWAY_MAX_CONNECTIONS (WebSockets included) a new connection is closed on arrival and counted', async (t) => {
    const tenant = uniqueTenant('cap');
    for (let i = 0; i < 3; i++) await connect(t, plainUrl(own.gateway.wsUrl, tenant), { token: own.token });
    const fourth = await tcp(own.gateway.url);
    t.after(() => fourth.destroy());
    await within(closed(fourth), 'the fourth connection to be closed', 5000);
    await until(
      async () => (await scrapeMetric(own.gateway.metricsUrl, 'tenantcast_gateway_connections_dropped_total')) === 1,
      'the drop to be counted',
    );
  });
});
