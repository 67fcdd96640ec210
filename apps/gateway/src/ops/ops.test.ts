import assert from 'node:assert/strict';
import { type Socket, connect as tcpConnect } from 'node:net';
import { describe, test } from 'node:test';
import { assertRefusal, connect, makeEvent, metricValue, plainUrl, refusal, uniqueTenant, until } from '@tenantcast/testkit';
import type { TestGateway } from '../testing/start-gateway.ts';
import { startGatewayWithRedis, useGateway } from '../testing/use-gateway.ts';

// Each test starts the gateway it looks at, on the suite's Redis and key prefix.
const stack = useGateway();

async function scrape(gateway: TestGateway): Promise<string> {
  const res = await fetch(`${gateway.metricsUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

/** Opens a TCP connection and sends a request line and some headers, but not the blank line that ends them. */
function startRequest(port: number, head: string[]): Promise<{ socket: Socket; answer: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => {
      socket.write(`${head.join('\r\n')}\r\n`);
      resolve({ socket, answer });
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
    const answer = new Promise<string>((done) => socket.on('close', () => done(text)));
  });
}

describe('health', () => {
  test('/healthz and /readyz answer 200 while running', async (t) => {
    const gateway = await stack.startGateway(t);
    const health = await fetch(`${gateway.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${gateway.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });

  test('/readyz answers 503 while Redis is down, upgrades get 503, and both recover when it is back', async (t) => {
    // A Redis of its own, to kill.
    const own = await startGatewayWithRedis();
    t.after(own.close);
    const { gateway } = own;
    const tenant = uniqueTenant('outage');
    await own.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);

    await own.redis.kill();
    await until(async () => (await fetch(`${gateway.url}/readyz`)).status === 503, '/readyz to answer 503');
    const notReady = await fetch(`${gateway.url}/readyz`);
    assert.equal(notReady.headers.get('retry-after'), '1');
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200, 'the process itself is healthy');
    const refused = await refusal(plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    assertRefusal(refused, 503, 'TC_ERR_REDIS_UNAVAILABLE');
    assert.ok(refused.headers['retry-after'] !== undefined, 'a 503 says when to retry');

    await own.redis.restart();
    await until(async () => (await fetch(`${gateway.url}/readyz`)).status === 200, '/readyz to answer 200 again', 15_000);
    await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
  });
});

describe('metrics', () => {
  test('the public listener serves no metrics and no tenant id: /metrics is 404 there, served on the metrics listener', async (t) => {
    const gateway = await stack.startGateway(t);
    const { tenant } = await stack.writer.tenantWithHistory('public-metrics');
    await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    assert.notEqual(new URL(gateway.metricsUrl).port, new URL(gateway.url).port);
    for (const path of ['/metrics', '/metrics?x=1', '/metrics/']) {
      const res = await fetch(`${gateway.url}${path}`);
      const body = await res.text();
      assert.equal(res.status, 404, `${path}: ${body}`);
      assert.ok(!body.includes(tenant), `${path} names no tenant`);
    }
    assert.equal(metricValue(await scrape(gateway), 'tenantcast_gateway_subscriptions', { tenant }), 1);
    // The metrics listener serves /metrics alone.
    assert.equal((await fetch(`${gateway.metricsUrl}/healthz`)).status, 404);
  });

  test('per-tenant series are bounded: the GATEWAY_METRICS_MAX_TENANTS most subscribed, the rest summed as "(other)"', async (t) => {
    const gateway = await stack.startGateway(t, { metricsMaxTenants: 2 });
    const tenants = await Promise.all(
      ['top-a', 'top-b', 'top-c', 'top-d'].map(async (label) => (await stack.writer.tenantWithHistory(label)).tenant),
    );
    const [a, b, c, d] = tenants as [string, string, string, string];
    // a: 3 subscribers, b: 2, c: 1, d: 1.
    for (const [tenant, n] of [
      [a, 3],
      [b, 2],
      [c, 1],
      [d, 1],
    ] as const) {
      for (let i = 0; i < n; i++) await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    }
    await until(async () => metricValue(await scrape(gateway), 'tenantcast_gateway_connections') === 7, '7 connections');
    const text = await scrape(gateway);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: a }), 3);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: b }), 2);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: c }), undefined);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: d }), undefined);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: '(other)' }), 2);
    assert.equal(metricValue(text, 'tenantcast_gateway_tenants'), 4);
    const series = text.split('\n').filter((line) => line.startsWith('tenantcast_gateway_subscriptions{'));
    assert.equal(series.length, 3, series.join('\n'));
  });

  test('/metrics shows connections, subscriptions per tenant, messages out, fan-out latency, refused upgrades', async (t) => {
    const gateway = await stack.startGateway(t);
    const { tenant: a } = await stack.writer.tenantWithHistory('metrics-a');
    const { tenant: b } = await stack.writer.tenantWithHistory('metrics-b');
    const plain1 = await connect(t, plainUrl(gateway.wsUrl, a), { token: stack.token });
    const plain2 = await connect(t, plainUrl(gateway.wsUrl, a), { token: stack.token });
    const mux = await connect(t, `${gateway.wsUrl}/v1/connect`, { token: stack.token, protocols: ['tenantcast.v1'] });
    mux.send({ op: 'subscribe', id: 'a', tenantid: a });
    mux.send({ op: 'subscribe', id: 'b', tenantid: b });
    await mux.received(2);

    let text = await scrape(gateway);
    assert.equal(metricValue(text, 'tenantcast_gateway_connections'), 3);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: a }), 3);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: b }), 1);
    assert.equal(metricValue(text, 'tenantcast_gateway_messages_out_total'), 0);
    assert.equal(metricValue(text, 'tenantcast_gateway_slow_consumers_total'), 0);

    await stack.writer.publish([makeEvent(a), makeEvent(a), makeEvent(a)]);
    await stack.writer.publish([makeEvent(b), makeEvent(b)]);
    await plain1.received(3);
    await plain2.received(3);
    await mux.received(2 + 5);
    text = await scrape(gateway);
    assert.equal(metricValue(text, 'tenantcast_gateway_messages_out_total'), 3 * 3 + 2);
    assert.ok((metricValue(text, 'tenantcast_gateway_fanout_duration_seconds_count') ?? 0) >= 2, 'fan-out latency is observed');

    await refusal(plainUrl(gateway.wsUrl, a));
    text = await scrape(gateway);
    assert.equal(metricValue(text, 'tenantcast_gateway_upgrades_refused_total', { code: 'TC_ERR_UNAUTHORIZED' }), 1);

    plain1.ws.close();
    mux.ws.close();
    await plain1.closedWith();
    await mux.closedWith();
    await until(async () => metricValue(await scrape(gateway), 'tenantcast_gateway_connections') === 1, 'connections to drop to 1');
    text = await scrape(gateway);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: a }), 1);
    assert.equal(metricValue(text, 'tenantcast_gateway_subscriptions', { tenant: b }), undefined, 'a tenant without subscribers is gone');
  });

  test('messages out counts events sent while catching up too', async (t) => {
    const gateway = await stack.startGateway(t);
    const { tenant } = await stack.writer.tenantWithHistory('metrics-catch-up');
    await stack.writer.publish([makeEvent(tenant), makeEvent(tenant)]);
    const client = await connect(t, plainUrl(gateway.wsUrl, tenant, { after: '0' }), { token: stack.token });
    await client.received(3);
    assert.equal(metricValue(await scrape(gateway), 'tenantcast_gateway_messages_out_total'), 3);
  });
});

describe('graceful shutdown', () => {
  test('close() closes plain and multiplexed clients with 1001, is idempotent, and later upgrades are refused', async (t) => {
    const gateway = await stack.startGateway(t);
    const { tenant } = await stack.writer.tenantWithHistory('shutdown');
    const plain = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    const mux = await connect(t, `${gateway.wsUrl}/v1/connect`, { token: stack.token, protocols: ['tenantcast.v1'] });
    mux.send({ op: 'subscribe', id: 's', tenantid: tenant });
    await mux.received(1);

    const closing = gateway.close();
    assert.equal(gateway.close(), closing, 'close() returns the same promise');
    const [plainClose, muxClose] = await Promise.all([plain.closedWith(), mux.closedWith()]);
    assert.equal(plainClose.code, 1001);
    assert.equal(muxClose.code, 1001);
    assert.ok(plainClose.reason.length > 0);
    await closing;

    await assert.rejects(connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token }), /ECONNREFUSED/);
    await assert.rejects(fetch(`${gateway.url}/healthz`));
  });

  test('while closing, requests on open connections get 503: /readyz, and upgrades with TC_ERR_SHUTTING_DOWN', async (t) => {
    const gateway = await stack.startGateway(t, { shutdownTimeoutMs: 3000 });
    const { tenant } = await stack.writer.tenantWithHistory('closing');
    const port = Number(new URL(gateway.url).port);
    // A client that does not read keeps the gateway in its closing phase until shutdownTimeoutMs.
    const stuck = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    (stuck.ws as unknown as { _socket: Socket })._socket.pause();
    const readyz = await startRequest(port, ['GET /readyz HTTP/1.1', `Host: 127.0.0.1:${port}`]);
    const upgrade = await startRequest(port, [
      `GET /v1/tenants/${tenant}/events HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      `Authorization: Bearer ${stack.token}`,
    ]);

    // close() moves to closing at once; it then waits for the stuck client.
    const closing = gateway.close();
    readyz.socket.write('Connection: close\r\n\r\n');
    upgrade.socket.write('\r\n');
    const readyzAnswer = await readyz.answer;
    const upgradeAnswer = await upgrade.answer;
    assert.match(readyzAnswer, /^HTTP\/1\.1 503/, readyzAnswer);
    assert.match(upgradeAnswer, /^HTTP\/1\.1 503/, upgradeAnswer);
    assert.match(upgradeAnswer, /TC_ERR_SHUTTING_DOWN/);
    assert.match(upgradeAnswer, /Retry-After/i);

    (stuck.ws as unknown as { _socket: Socket })._socket.resume();
    await closing;
  });

  test('a client that does not answer the close is cut after shutdownTimeoutMs, and close() still completes', async (t) => {
    const gateway = await stack.startGateway(t, { shutdownTimeoutMs: 300 });
    const { tenant } = await stack.writer.tenantWithHistory('stuck');
    const stuck = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    (stuck.ws as unknown as { _socket: Socket })._socket.pause();
    await gateway.close();
    (stuck.ws as unknown as { _socket: Socket })._socket.resume();
    await stuck.closedWith();
  });
});
