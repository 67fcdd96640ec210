import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import {
  type Accepted,
  makeEvent,
  metricValue,
  openStream,
  plainUrl,
  scrapeMetrics,
  sleep,
  streamRefusal,
  testToken,
  uniqueTenant,
  until,
} from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

// Server-Sent Events on the gateway (docs/protocol.md, "Server-Sent Events"), read on the wire with
// plain node:http. Clients that nobody here wrote (the `eventsource` package, Chromium's EventSource)
// are in tests/e2e/sse-*.test.ts.

const stack = useGateway();

const streamUrl = (tenant: string, query: Parameters<typeof plainUrl>[2] = {}, base = stack.gateway.url) => plainUrl(base, tenant, query);

describe('Server-Sent Events: streams', () => {
  test('live events: id is the offset, data the structured event with relayoffset; the stream starts with the id it starts at', async (t) => {
    const { tenant, history } = await stack.writer.tenantWithHistory('sse-live');
    const stream = await openStream(t, streamUrl(tenant), { token: stack.token });
    assert.equal(stream.response.headers['content-type'], 'text/event-stream');
    assert.equal(stream.response.headers['access-control-allow-origin'], '*');
    await until(() => stream.messages.length > 0, 'the first message');
    assert.deepEqual(stream.messages[0], { kind: 'id', id: history.offset }, 'a live-only stream starts at the last offset');
    const published = await stack.writer.publish([makeEvent(tenant, { id: 'a' }), makeEvent(tenant, { id: 'b' })]);
    await stream.received(2);
    const messages = stream.messages.filter((m) => m.kind === 'message');
    assert.deepEqual(
      messages.map((m) => m.kind === 'message' && m.id),
      published.map((p) => p.offset),
    );
    assert.deepEqual(
      stream.events.map((e) => [e.id, e.relayoffset, e.tenantid, e.specversion]),
      published.map((p) => [p.id, p.offset, tenant, '1.0']),
    );
  });

  test('filters (query) and resume by after, then by Last-Event-ID, which wins over after', async (t) => {
    const { tenant, history } = await stack.writer.tenantWithHistory('sse-resume');
    const stored = await stack.writer.publish([
      makeEvent(tenant, { id: 'a', type: 'com.example.keep' }),
      makeEvent(tenant, { id: 'b', type: 'com.example.drop' }),
      makeEvent(tenant, { id: 'c', type: 'com.example.keep' }),
    ]);
    const filters = [{ exact: { type: 'com.example.keep' } }];
    const fromHistory = await openStream(t, streamUrl(tenant, { after: history.offset, filters }), { token: stack.token });
    await fromHistory.receivedId('c');
    assert.deepEqual(
      fromHistory.events.map((e) => e.id),
      ['a', 'c'],
    );
    const resumed = await openStream(t, streamUrl(tenant, { after: history.offset }), {
      token: stack.token,
      headers: { 'last-event-id': stored[1]!.offset },
    });
    await resumed.receivedId('c');
    assert.deepEqual(
      resumed.events.map((e) => e.id),
      ['c'],
    );
  });

  test('heartbeats are comments, every GATEWAY_SSE_HEARTBEAT_MS', async (t) => {
    const gateway = await stack.startGateway(t, { sseHeartbeatMs: 100 });
    const { tenant } = await stack.writer.tenantWithHistory('sse-heartbeat');
    const stream = await openStream(t, streamUrl(tenant, {}, gateway.url), { token: stack.token });
    await until(() => stream.messages.filter((m) => m.kind === 'comment').length >= 3, 'three heartbeats');
  });

  test('a stream outlives the request timeout', async (t) => {
    const gateway = await stack.startGateway(t, { requestTimeoutMs: 300, headersTimeoutMs: 300 });
    const { tenant } = await stack.writer.tenantWithHistory('sse-timeout');
    const stream = await openStream(t, streamUrl(tenant, {}, gateway.url), { token: stack.token });
    await sleep(2000);
    assert.equal(stream.isEnded, false, 'the stream is still open');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'late' }));
    await stream.receivedId('late');
  });

  test('at the token’s exp the stream ends with event: error TC_ERR_TOKEN_EXPIRED', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('sse-expiry');
    const token = await testToken({ tenants: [tenant], expiresIn: '2s' });
    const stream = await openStream(t, streamUrl(tenant), { token });
    await stack.writer.publishOne(makeEvent(tenant, { id: 'before' }));
    await stream.receivedId('before');
    await stream.ended;
    assert.deepEqual(
      stream.errors.map((e) => e.error.code),
      ['TC_ERR_TOKEN_EXPIRED'],
    );
    assert.match(stream.errors[0]!.error.message, /fresh token/);
  });

  test('on shutdown a stream ends with event: error TC_ERR_SHUTTING_DOWN', async (t) => {
    const gateway = await stack.startGateway(t);
    const { tenant } = await stack.writer.tenantWithHistory('sse-shutdown');
    const stream = await openStream(t, streamUrl(tenant, {}, gateway.url), { token: stack.token });
    await until(() => stream.messages.length > 0, 'the stream to start');
    await gateway.close();
    await stream.ended;
    assert.deepEqual(
      stream.errors.map((e) => e.error.code),
      ['TC_ERR_SHUTTING_DOWN'],
    );
  });

  test('a client that stops reading is ended with event: error TC_ERR_SLOW_CONSUMER after a gap-free prefix, and resumes', async (t) => {
    const gateway = await stack.startGateway(t, { maxBufferedBytes: 65_536 });
    const { tenant } = await stack.writer.tenantWithHistory('sse-slow');
    const slow = await openStream(t, streamUrl(tenant, {}, gateway.url), { token: stack.token });
    slow.socket.pause();
    const pad = 'x'.repeat(16 * 1024);
    const published: Accepted[] = [];
    for (let batch = 0; batch < 80; batch++) {
      const events = Array.from({ length: 50 }, () => makeEvent(tenant, { datacontenttype: 'application/json', data: { pad } }));
      published.push(...(await stack.writer.publish(events)));
      if ((metricValue(await scrapeMetrics(gateway.metricsUrl), 'tenantcast_gateway_slow_consumers_total') ?? 0) >= 1) break;
    }
    slow.socket.resume();
    await slow.ended;
    assert.deepEqual(
      slow.errors.map((e) => e.error.code),
      ['TC_ERR_SLOW_CONSUMER'],
    );
    assert.ok(slow.events.length < published.length, 'the slow client did not get everything');
    assert.deepEqual(
      slow.events.map((e) => e.relayoffset),
      published.slice(0, slow.events.length).map((p) => p.offset),
    );
    const resumed = await openStream(t, streamUrl(tenant, {}, gateway.url), {
      token: stack.token,
      headers: { 'last-event-id': slow.events.at(-1)!.relayoffset },
    });
    await resumed.received(published.length - slow.events.length, 20_000);
    assert.deepEqual(
      [...slow.events, ...resumed.events].map((e) => e.relayoffset),
      published.map((p) => p.offset),
    );
  });
});

describe('Server-Sent Events: refusals, before the stream, as HTTP statuses with the shared error body', () => {
  const cases: { name: string; status: number; code: string; open(tenant: string, history: Accepted): Promise<[string, object]> }[] = [
    { name: 'no token', status: 401, code: 'TC_ERR_UNAUTHORIZED', open: async (tenant) => [streamUrl(tenant), {}] },
    {
      name: 'a token that does not verify (query, as EventSource sends it)',
      status: 401,
      code: 'TC_ERR_TOKEN_INVALID',
      open: async (tenant) => [streamUrl(tenant, { token: await testToken({}, 'another-secret-0123456789abcdef') }), {}],
    },
    {
      name: 'a token of another tenant',
      status: 403,
      code: 'TC_ERR_FORBIDDEN_TENANT',
      open: async (tenant) => [streamUrl(tenant), { token: await testToken({ tenants: ['someone-else'] }) }],
    },
    {
      name: 'a token without subscribe scope',
      status: 403,
      code: 'TC_ERR_FORBIDDEN_SCOPE',
      open: async (tenant) => [streamUrl(tenant), { token: await testToken({ scope: 'publish' }) }],
    },
    {
      name: 'an offset ahead of the stream',
      status: 409,
      code: 'TC_ERR_OFFSET_AHEAD',
      open: async (tenant, history) => [
        streamUrl(tenant),
        { token: stack.token, headers: { 'last-event-id': `${Number(history.offset.split('-')[0]) + 60_000}-0` } },
      ],
    },
    {
      name: 'a Last-Event-ID that is no offset',
      status: 400,
      code: 'TC_ERR_BAD_OFFSET',
      open: async (tenant) => [streamUrl(tenant), { token: stack.token, headers: { 'last-event-id': 'yesterday' } }],
    },
    {
      name: 'filters that are not JSON',
      status: 400,
      code: 'TC_ERR_BAD_FILTER',
      open: async (tenant) => [`${streamUrl(tenant)}?filters=nope`, { token: stack.token }],
    },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.status} ${c.code}`, async (t) => {
      const { tenant, history } = await stack.writer.tenantWithHistory('sse-refused');
      const [url, options] = await c.open(tenant, history);
      const refused = await streamRefusal(url, options);
      assert.equal(refused.status, c.status, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, c.code);
      assert.ok(refused.body.error.message.length > 0);
      assert.match(String(refused.headers['content-type']), /^application\/json/);
      assert.equal(refused.headers['access-control-allow-origin'], '*', 'a page reads the refusal');
      // The same request, put right, streams: the refusal was the event stream's own, before it started.
      const stream = await openStream(t, streamUrl(tenant), { token: stack.token });
      await until(() => stream.messages.length > 0, 'the stream to start');
    });
  }

  test('a CORS preflight for a stream with Authorization is allowed from any origin; other OPTIONS are not the stream’s', async () => {
    const preflight = (path: string, headers: Record<string, string>) =>
      fetch(`${stack.gateway.url}${path}`, { method: 'OPTIONS', headers: { origin: 'https://app.example', ...headers } });
    const allowed = await preflight('/v1/tenants/acme/events', {
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization, last-event-id',
    });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), '*');
    assert.match(String(allowed.headers.get('access-control-allow-headers')), /authorization/);
    assert.match(String(allowed.headers.get('access-control-allow-headers')), /last-event-id/);
    assert.equal(allowed.headers.get('access-control-allow-methods'), 'GET');
    const elsewhere = await preflight('/v1/connect', { 'access-control-request-method': 'GET' });
    assert.notEqual(elsewhere.status, 204);
  });

  test('an offset trimmed by retention: 410 TC_ERR_OFFSET_EXPIRED, by after or Last-Event-ID', async (t) => {
    const trimming = await stack.startWriter(t, { streamMaxLen: 10 });
    const gateway = await stack.startGateway(t, { keyPrefix: trimming.keyPrefix });
    const tenant = uniqueTenant('sse-trimmed');
    const accepted: Accepted[] = [];
    for (let i = 0; i < 6; i++) accepted.push(...(await trimming.publish(Array.from({ length: 50 }, () => makeEvent(tenant)))));
    for (const [url, headers] of [
      [streamUrl(tenant, { after: accepted[0]!.offset }, gateway.url), {}],
      [streamUrl(tenant, {}, gateway.url), { 'last-event-id': accepted[0]!.offset }],
    ] as const) {
      const refused = await streamRefusal(url, { token: stack.token, headers });
      assert.equal(refused.status, 410);
      assert.equal(refused.body.error.code, 'TC_ERR_OFFSET_EXPIRED');
    }
  });

  test('past GATEWAY_MAX_CONNECTIONS_PER_TENANT: 429, and closing a stream frees its place', async (t) => {
    const gateway = await stack.startGateway(t, { maxConnectionsPerTenant: 1 });
    const { tenant } = await stack.writer.tenantWithHistory('sse-limit');
    const first = await openStream(t, streamUrl(tenant, {}, gateway.url), { token: stack.token });
    const refused = await streamRefusal(streamUrl(tenant, {}, gateway.url), { token: stack.token });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'TC_ERR_TOO_MANY_CONNECTIONS');
    first.close();
    await until(async () => {
      const next = await streamRefusal(streamUrl(tenant, {}, gateway.url), { token: stack.token }).catch(() => undefined);
      return next === undefined;
    }, 'a place to free up');
  });

  test('a GET without Accept: text/event-stream answers as before: 426 when an upgrade would pass, the refusal otherwise', async () => {
    const { tenant } = await stack.writer.tenantWithHistory('sse-plain-get');
    const plain = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        request(streamUrl(tenant), { headers }, (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      });
    const accepted = await plain({ authorization: `Bearer ${stack.token}`, accept: 'application/json' });
    assert.equal(accepted.status, 426);
    const refused = await plain({});
    assert.equal(refused.status, 401);
    assert.equal(JSON.parse(refused.body).error.code, 'TC_ERR_UNAUTHORIZED');
  });
});
