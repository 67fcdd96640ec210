import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort, scrapeMetrics, startRedisServer, TEST_SECRET, TSX_NODE_ARGS } from '@tenantcast/testkit';
import { startRelayWithRedis } from '../testing/use-relay.ts';

const event = (id: string) => JSON.stringify({ specversion: '1.0', id, source: 'ops-test', type: 'com.example.ping', tenantid: 'ops' });

describe('operations', () => {
  test('/healthz and /readyz answer on the public port; /metrics on the metrics listener only', async (t) => {
    const { relay, close } = await startRelayWithRedis();
    t.after(close);
    assert.deepEqual(await (await fetch(`${relay.url}/healthz`)).json(), { status: 'ok' });
    assert.equal((await fetch(`${relay.url}/readyz`)).status, 200);

    const token = await relay.token({ scope: 'publish' });
    const res = await fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: event('m1'),
    });
    assert.equal(res.status, 202);
    await fetch(`${relay.url}/v1/events`, { method: 'POST' });
    const publicMetrics = await fetch(`${relay.url}/metrics`);
    assert.equal(publicMetrics.status, 404, 'the public port serves no metrics');
    assert.equal(((await publicMetrics.json()) as { error: { code: string } }).error.code, 'TC_ERR_NOT_FOUND');
    assert.notEqual(new URL(relay.metricsUrl).port, new URL(relay.url).port);
    const metrics = await scrapeMetrics(relay.metricsUrl);
    assert.match(metrics, /tenantcast_relay_events_total\{result="stored"\} 1/);
    assert.match(metrics, /tenantcast_relay_requests_rejected_total\{code="TC_ERR_UNAUTHORIZED"\} 1/);
    assert.match(metrics, /tenantcast_relay_ingest_duration_seconds_count\{mode="single"\} 1/);
    assert.match(metrics, /tenantcast_relay_redis_up 1/);
    assert.doesNotMatch(metrics, /tenant=/, 'no series names a tenant');
    // The metrics listener serves nothing else.
    assert.equal((await fetch(`${relay.metricsUrl}/v1/events`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${relay.metricsUrl}/healthz`)).status, 404);
  });

  test('with Redis down it answers 503 with Retry-After, and recovers by itself', async (t) => {
    const { redis, relay, close } = await startRelayWithRedis();
    t.after(close);
    const token = await relay.token({ scope: 'publish subscribe' });
    const publish = (id: string) =>
      fetch(`${relay.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
        body: event(id),
      });

    await redis.kill();
    const down = await publish('d1');
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('retry-after'), '1');
    assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'TC_ERR_REDIS_UNAVAILABLE');
    assert.equal((await fetch(`${relay.url}/readyz`)).status, 503);
    const history = await fetch(`${relay.url}/v1/tenants/ops/events`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(history.status, 503);

    await redis.restart();
    let status = 0;
    for (let i = 0; i < 100 && status !== 202; i++) {
      status = (await publish('d2')).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 202, 'the relay recovers once Redis is back');
    assert.equal((await fetch(`${relay.url}/readyz`)).status, 200);
  });

  test('close() finishes requests in flight, refuses new ones, and may be called twice', async (t) => {
    const { relay, close } = await startRelayWithRedis();
    t.after(close);
    const token = await relay.token({ scope: 'publish' });
    // A slow upload: the request is in flight when close() starts.
    const body = event('slow');
    const inFlight = fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: new ReadableStream({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode(body.slice(0, 10)));
          await new Promise((r) => setTimeout(r, 300));
          controller.enqueue(new TextEncoder().encode(body.slice(10)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    await new Promise((r) => setTimeout(r, 100));
    const first = relay.close();
    const second = relay.close();
    assert.equal(first, second);
    assert.equal((await inFlight).status, 202);
    await first;
    // A new request is refused: the socket is closed, or a kept-alive one gets 503.
    const afterClose = await fetch(`${relay.url}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.ok(afterClose === 'refused' || afterClose === 503, `got ${afterClose}`);
  });
});

describe('the relay process', () => {
  const main = join(import.meta.dirname, '..', 'main.ts');
  // Node itself with tsx's loader: one process, so that signals and exit codes are the relay's own.
  const run = (env: NodeJS.ProcessEnv, stdio: Array<'ignore' | 'pipe'>) =>
    spawn(process.execPath, [...TSX_NODE_ARGS, main], { env, stdio });

  test('refuses to start without TENANTCAST_SECRET, saying what to set', async () => {
    const child = run({ PATH: process.env.PATH }, ['ignore', 'ignore', 'pipe']);
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 78);
    assert.match(stderr, /TENANTCAST_SECRET \(secret\) is required/);
  });

  test('serves, with metrics on RELAY_METRICS_PORT only, then exits 0 on SIGTERM', async (t) => {
    const redis = await startRedisServer();
    t.after(() => redis.stop());
    const port = await freePort();
    const metricsPort = await freePort();
    const child = run(
      {
        PATH: process.env.PATH,
        REDIS_URL: redis.url,
        TENANTCAST_SECRET: TEST_SECRET,
        RELAY_PORT: String(port),
        RELAY_HOST: '127.0.0.1',
        RELAY_METRICS_PORT: String(metricsPort),
      },
      ['ignore', 'ignore', 'ignore'],
    );
    t.after(() => child.kill('SIGKILL'));
    let ready = false;
    for (let i = 0; i < 200 && !ready; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(ready, 'the relay became ready');
    assert.match(await scrapeMetrics(`http://127.0.0.1:${metricsPort}`), /tenantcast_relay_redis_up 1/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });
});
