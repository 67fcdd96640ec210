import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createEvent } from '../create-event.ts';
import { TenantcastError } from '../errors.ts';
import type { CloudEvent } from '../schemas/envelope.ts';
import { type PublishResult, RelayClient, type RelayClientOptions } from './relay-client.ts';

/** One request as the fake relay saw it. */
interface SeenRequest {
  /** 0-based position among all requests. */
  n: number;
  /** When the body had been read, from performance.now(). */
  at: number;
  authorization: string | undefined;
  contentType: string | undefined;
  /** Whether the body was a JSON array (a batch). */
  batch: boolean;
  events: CloudEvent[];
}

/** What the fake relay does with a request: store it (202), answer something else, or drop the connection. */
type Reply = 'accept' | 'destroy' | 'hang' | { status: number; headers?: Record<string, string>; body?: unknown };

interface FakeRelay {
  url: string;
  seen: SeenRequest[];
  /** Events stored, in the order the relay stored them. */
  stored: Array<{ event: CloudEvent; offset: string }>;
  offsetOf(event: CloudEvent): string | undefined;
}

function errorBody(code: string, message: string, details?: unknown[]) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

/**
 * A relay on a real socket that plays the wire protocol: POST {prefix}/v1/events with a Bearer token,
 * structured (application/cloudevents+json) or batched (application/cloudevents-batch+json) events of
 * one tenant, 202 `{"accepted":[{id,source,offset,duplicate}]}` in request order, deduplication by
 * source and id. `behave` may answer otherwise before anything is stored.
 */
async function startRelay(
  t: TestContext,
  behave: (request: SeenRequest) => Reply | Promise<Reply> = () => 'accept',
  prefix = '',
): Promise<FakeRelay> {
  const seen: SeenRequest[] = [];
  const stored: FakeRelay['stored'] = [];
  const offsets = new Map<string, string>();
  let sequence = 0;
  const keyOf = (event: CloudEvent) => `${event.source}\u0000${event.id}`;

  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, errorBody('TC_ERR_INVALID_JSON', 'The body is not valid JSON.'));
    }
    const batch = Array.isArray(parsed);
    const events = (batch ? parsed : [parsed]) as CloudEvent[];
    const contentType = req.headers['content-type'];
    const request: SeenRequest = {
      n: seen.length,
      at: performance.now(),
      authorization: req.headers.authorization,
      contentType,
      batch,
      events,
    };
    seen.push(request);

    if (req.method !== 'POST' || req.url !== `${prefix}/v1/events`)
      return send(404, errorBody('TC_ERR_NOT_FOUND', `No route ${req.method} ${req.url}`));
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) return send(401, errorBody('TC_ERR_UNAUTHORIZED', 'Send a token.'));
    const essence = contentType?.split(';', 1)[0]?.trim().toLowerCase();
    if (essence !== (batch ? 'application/cloudevents-batch+json' : 'application/cloudevents+json')) {
      return send(415, errorBody('TC_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type ${contentType} does not fit the body.`));
    }
    if (new Set(events.map((e) => e.tenantid)).size > 1) return send(400, errorBody('TC_ERR_MIXED_TENANTS', 'One tenant per batch.'));

    const reply = await behave(request);
    if (reply === 'destroy') return void req.socket.destroy();
    if (reply === 'hang') return;
    if (reply !== 'accept') return send(reply.status, reply.body ?? {}, reply.headers);
    const accepted = events.map((event) => {
      const known = offsets.get(keyOf(event));
      if (known !== undefined) return { id: event.id, source: event.source, offset: known, duplicate: true };
      const offset = `${1_700_000_000_000 + sequence++}-0`;
      offsets.set(keyOf(event), offset);
      stored.push({ event, offset });
      return { id: event.id, source: event.source, offset, duplicate: false };
    });
    send(202, { accepted });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${prefix}`, seen, stored, offsetOf: (event) => offsets.get(keyOf(event)) };
}

/** A client with quick backoff; closed (retries cut short) when the test ends, pass or fail. */
function clientFor(t: TestContext, relay: FakeRelay, options: Partial<RelayClientOptions> = {}): RelayClient {
  const client = new RelayClient({ url: relay.url, token: 'test-token', backoff: { baseMs: 1, maxMs: 5 }, ...options });
  t.after(() => client.close({ abort: true }));
  return client;
}

let counter = 0;
/** A valid event of the Qlik catalog for `tenant`. */
function eventFor(tenant = 'acme', label = `wi-${++counter}`): CloudEvent {
  return createEvent('com.qlik.web-integration.deleted', {
    source: 'com.example/relay-client-test',
    tenantid: tenant,
    data: { id: label },
  });
}

function events(count: number, tenant = 'acme'): CloudEvent[] {
  return Array.from({ length: count }, () => eventFor(tenant));
}

/** Checks that each result is the relay's answer for the event at the same position. */
function assertStoredAs(relay: FakeRelay, published: CloudEvent[], results: PublishResult[]): void {
  assert.equal(results.length, published.length);
  published.forEach((event, i) => {
    const result = results[i];
    assert.ok(result, `no result for event ${i}`);
    assert.equal(result.id, event.id);
    assert.equal(result.source, event.source);
    assert.equal(result.offset, relay.offsetOf(event), `offset of event ${i}`);
  });
}

function isPublishError(code: 'TC_ERR_PUBLISH_REJECTED' | 'TC_ERR_PUBLISH_FAILED' | 'TC_ERR_VALIDATION', status?: number) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof TenantcastError, `expected a TenantcastError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  };
}

const ids = (list: CloudEvent[]) => list.map((e) => e.id);

describe('RelayClient: the wire protocol', () => {
  test('a single event goes out as structured JSON with the Bearer token, and resolves with its offset', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay, { token: 'tok-123' });
    const event = eventFor();
    const result = await client.publish(event);
    assert.equal(relay.seen.length, 1);
    const [request] = relay.seen;
    assert.equal(request?.authorization, 'Bearer tok-123');
    assert.match(request?.contentType ?? '', /^application\/cloudevents\+json/);
    assert.equal(request?.batch, false);
    assert.deepEqual(request?.events, [event]);
    assert.deepEqual(result, { id: event.id, source: event.source, offset: relay.stored[0]?.offset, duplicate: false });
  });

  test('an array goes out as one batch and resolves results in the order given', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay);
    const published = events(5);
    const results = await client.publish(published);
    assert.equal(relay.seen.length, 1);
    assert.equal(relay.seen[0]?.batch, true);
    assert.match(relay.seen[0]?.contentType ?? '', /^application\/cloudevents-batch\+json/);
    assert.deepEqual(ids(relay.seen[0]?.events ?? []), ids(published));
    assertStoredAs(relay, published, results);
    assert.equal(new Set(results.map((r) => r.offset)).size, 5);
  });

  test('a relay URL with a path prefix posts under it', async (t) => {
    const relay = await startRelay(t, undefined, '/relay');
    const client = clientFor(t, relay);
    const event = eventFor();
    assert.equal((await client.publish(event)).offset, relay.offsetOf(event));
    const trailing = clientFor(t, { ...relay, url: `${relay.url}/` });
    const other = eventFor();
    assert.equal((await trailing.publish(other)).offset, relay.offsetOf(other));
  });

  test('a token function is called for each request', async (t) => {
    let calls = 0;
    const relay = await startRelay(t, (r) => (r.n === 0 ? { status: 503, body: errorBody('TC_ERR_REDIS_UNAVAILABLE', 'down') } : 'accept'));
    const client = clientFor(t, relay, { token: async () => `rotated-${++calls}` });
    await client.publish(eventFor());
    assert.deepEqual(
      relay.seen.map((r) => r.authorization),
      ['Bearer rotated-1', 'Bearer rotated-2'],
    );
  });

  test('a duplicate is reported with the offset of the first copy', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay);
    const event = eventFor();
    const first = await client.publish(event);
    const again = await client.publish(event);
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal(again.offset, first.offset);
  });

  test('option values that cannot work are refused up front', () => {
    for (const bad of [{ maxBatchSize: 0 }, { maxAttempts: 0 }, { timeoutMs: -1 }, { maxBatchBytes: 1.5 }]) {
      assert.throws(
        () => new RelayClient({ url: 'http://127.0.0.1:1', token: 't', ...bad }),
        (error: TenantcastError) => error.code === 'TC_ERR_BAD_OPTIONS' && /whole number of 1 or more/.test(error.message),
      );
    }
  });

  test('a bad URL is refused up front', () => {
    assert.throws(
      () => new RelayClient({ url: 'not a url', token: 't' }),
      (error: unknown) => error instanceof TenantcastError && error.code === 'TC_ERR_BAD_OPTIONS',
    );
  });
});

describe('RelayClient: batching', () => {
  test('calls made in the same tick are coalesced, and each caller gets its own offset', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay);
    const published = events(25);
    const results = await Promise.all(published.map((event) => client.publish(event)));
    assert.ok(relay.seen.length < published.length, `${relay.seen.length} requests for ${published.length} events`);
    assertStoredAs(relay, published, results);
    assert.equal(new Set(results.map((r) => r.offset)).size, published.length);
    assert.deepEqual(
      relay.stored.map((s) => s.event.id),
      ids(published),
    );
  });

  test('batches hold at most maxBatchSize events', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay, { maxBatchSize: 4 });
    const published = events(10);
    const results = await Promise.all(published.map((event) => client.publish(event)));
    assertStoredAs(relay, published, results);
    assert.ok(
      relay.seen.every((r) => r.events.length <= 4),
      JSON.stringify(relay.seen.map((r) => r.events.length)),
    );
    assert.equal(relay.seen.length, Math.ceil(published.length / 4));
    assert.deepEqual(ids(relay.seen.flatMap((r) => r.events)), ids(published));
  });

  test('batches stay within maxBatchBytes', async (t) => {
    const relay = await startRelay(t);
    const published = events(6);
    const size = Math.max(...published.map((e) => JSON.stringify(e).length));
    const client = clientFor(t, relay, { maxBatchBytes: Math.floor(size * 2.5) });
    const results = await Promise.all(published.map((event) => client.publish(event)));
    assertStoredAs(relay, published, results);
    assert.ok(relay.seen.length >= 3);
    assert.ok(
      relay.seen.every((r) => r.events.length <= 2),
      JSON.stringify(relay.seen.map((r) => r.events.length)),
    );
  });

  test("events of different tenants go in separate requests, each tenant's in order", async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay);
    const tenants = ['acme', 'globex', 'initech'];
    const published = Array.from({ length: 12 }, (_, i) => eventFor(tenants[i % 3]));
    const results = await Promise.all(published.map((event) => client.publish(event)));
    assertStoredAs(relay, published, results);
    for (const request of relay.seen) assert.equal(new Set(request.events.map((e) => e.tenantid)).size, 1);
    assert.ok(relay.seen.length >= 3 && relay.seen.length < published.length);
    for (const tenant of tenants) {
      assert.deepEqual(
        ids(relay.stored.map((s) => s.event).filter((e) => e.tenantid === tenant)),
        ids(published.filter((e) => e.tenantid === tenant)),
      );
    }
  });

  test('an array of several tenants is split, and results still come back in the order given', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay);
    const published = [eventFor('acme'), eventFor('globex'), eventFor('acme'), eventFor('globex')];
    const results = await client.publish(published);
    assertStoredAs(relay, published, results);
    assert.equal(relay.seen.length, 2);
  });

  test('with lingerMs, a flush before the linger ends does not stall later publishes', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay, { lingerMs: 20 });
    const first = eventFor();
    const pending = client.publish(first);
    await client.flush();
    assert.equal((await pending).offset, relay.offsetOf(first));
    await delay(60); // the linger timer of the first publish has fired by now
    const second = eventFor();
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the second publish never settled')), 2000);
    });
    try {
      const result = await Promise.race([client.publish(second), stalled]);
      assert.equal(result.offset, relay.offsetOf(second));
    } finally {
      clearTimeout(timer);
    }
  });

  test('lingerMs gathers calls spread over a short time into one request', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay, { lingerMs: 200 });
    const published = events(3);
    const pending = [client.publish(published[0]!)];
    await delay(5);
    pending.push(client.publish(published[1]!));
    await delay(5);
    pending.push(client.publish(published[2]!));
    assertStoredAs(relay, published, await Promise.all(pending));
    assert.equal(relay.seen.length, 1);
  });
});

describe('RelayClient: retries', () => {
  for (const status of [500, 502, 503, 504, 408]) {
    test(`retries a ${status} and then resolves`, async (t) => {
      let failures = 2;
      const relay = await startRelay(t, () => (failures-- > 0 ? { status, body: errorBody('TC_ERR_INTERNAL', 'try again') } : 'accept'));
      const client = clientFor(t, relay);
      const published = events(3);
      const results = await client.publish(published);
      assertStoredAs(relay, published, results);
      assert.equal(relay.seen.length, 3);
      for (const request of relay.seen) assert.deepEqual(ids(request.events), ids(published));
    });
  }

  test('a 429 is retried after the Retry-After it names, not the backoff', async (t) => {
    const relay = await startRelay(t, (r) =>
      r.n === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: errorBody('TC_ERR_RATE_LIMITED', 'slow down') } : 'accept',
    );
    const client = clientFor(t, relay);
    const event = eventFor();
    const result = await client.publish(event);
    assert.equal(result.offset, relay.offsetOf(event));
    assert.equal(relay.seen.length, 2);
    const gap = relay.seen[1]!.at - relay.seen[0]!.at;
    assert.ok(gap >= 900, `retried after ${gap.toFixed(0)} ms, before the 1 s Retry-After`);
  });

  test('a Retry-After longer than maxRetryAfterMs is cut to it', async (t) => {
    const relay = await startRelay(t, (r) =>
      r.n === 0 ? { status: 503, headers: { 'retry-after': '3600' }, body: errorBody('TC_ERR_REDIS_UNAVAILABLE', 'down') } : 'accept',
    );
    const client = clientFor(t, relay, { maxRetryAfterMs: 50 });
    const event = eventFor();
    assert.equal((await client.publish(event)).offset, relay.offsetOf(event));
    assert.equal(relay.seen.length, 2);
  });

  test('a 202 whose body is not JSON rejects with a TenantcastError', async (t) => {
    const relay = await startRelay(t, () => ({ status: 202, body: 'not json' as unknown }));
    const server = relay.url;
    const client = new RelayClient({
      url: server,
      token: 't',
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        return new Response('<html>', { status: res.status === 202 ? 202 : res.status });
      },
    });
    t.after(() => client.close({ abort: true }));
    await assert.rejects(
      client.publish(eventFor()),
      (error: TenantcastError) => error instanceof TenantcastError && /not JSON/.test(error.message),
    );
  });

  test('a dropped connection is retried', async (t) => {
    const relay = await startRelay(t, (r) => (r.n === 0 ? 'destroy' : 'accept'));
    const client = clientFor(t, relay);
    const published = events(2);
    assertStoredAs(relay, published, await client.publish(published));
    assert.equal(relay.seen.length, 2);
  });

  test('an attempt that times out is retried', async (t) => {
    const relay = await startRelay(t, (r) => (r.n === 0 ? 'hang' : 'accept'));
    const client = clientFor(t, relay, { timeoutMs: 200 });
    const event = eventFor();
    assert.equal((await client.publish(event)).offset, relay.offsetOf(event));
    assert.equal(relay.seen.length, 2);
  });

  for (const [status, code] of [
    [400, 'TC_ERR_VALIDATION'],
    [401, 'TC_ERR_TOKEN_INVALID'],
    [403, 'TC_ERR_FORBIDDEN_TENANT'],
  ] as const) {
    test(`a ${status} is not retried: TC_ERR_PUBLISH_REJECTED with the status`, async (t) => {
      const details = status === 400 ? [{ path: '/data/id', message: 'must be string' }] : undefined;
      const relay = await startRelay(t, () => ({ status, body: errorBody(code, `refused with ${code}`, details) }));
      const client = clientFor(t, relay);
      await assert.rejects(client.publish(eventFor()), (error: unknown) => {
        isPublishError('TC_ERR_PUBLISH_REJECTED', status)(error);
        const e = error as TenantcastError;
        assert.match(e.message, new RegExp(code));
        assert.deepEqual(e.details, details ?? []);
        return true;
      });
      await client.flush();
      assert.equal(relay.seen.length, 1);
    });
  }

  test('a 400 naming one event of a coalesced batch rejects only that event; the others are resent', async (t) => {
    const relay = await startRelay(t, (r) =>
      r.n === 0
        ? { status: 400, body: errorBody('TC_ERR_VALIDATION', 'bad event', [{ index: 1, path: '/data/id', message: 'is taken' }]) }
        : 'accept',
    );
    const client = clientFor(t, relay);
    const published = events(3);
    const settled = await Promise.allSettled(published.map((event) => client.publish(event)));
    assert.equal(relay.seen[0]?.events.length, 3, 'the three calls were not coalesced');
    assert.equal(settled[1]?.status, 'rejected');
    const reason = settled[1]?.status === 'rejected' ? settled[1].reason : undefined;
    isPublishError('TC_ERR_PUBLISH_REJECTED', 400)(reason);
    assert.deepEqual((reason as TenantcastError).details, [{ path: '/data/id', message: 'is taken' }]);
    for (const i of [0, 2]) {
      const outcome = settled[i];
      assert.ok(outcome?.status === 'fulfilled', `event ${i} was not stored`);
      assert.equal(outcome.value.offset, relay.offsetOf(published[i]!));
    }
    assert.equal(relay.seen.length, 2);
    assert.deepEqual(ids(relay.seen[1]?.events ?? []), ids([published[0]!, published[2]!]));
    assert.equal(relay.offsetOf(published[1]!), undefined);
  });

  test('a 400 whose details name no event of the batch rejects the batch instead of resending it', async (t) => {
    const relay = await startRelay(t, () => ({
      status: 400,
      body: errorBody('TC_ERR_VALIDATION', 'bad event', [{ index: 7, path: '/id', message: 'odd' }]),
    }));
    const client = clientFor(t, relay);
    const settled = await Promise.allSettled(events(2).map((event) => client.publish(event)));
    for (const outcome of settled) {
      assert.equal(outcome.status, 'rejected');
      if (outcome.status === 'rejected') isPublishError('TC_ERR_PUBLISH_REJECTED', 400)(outcome.reason);
    }
    assert.equal(relay.seen.length, 1);
  });

  test('a 413 on a batch splits it until it fits', async (t) => {
    const relay = await startRelay(t, (r) =>
      r.events.length > 2 ? { status: 413, body: errorBody('TC_ERR_PAYLOAD_TOO_LARGE', 'send smaller batches') } : 'accept',
    );
    const client = clientFor(t, relay);
    const published = events(7);
    const results = await client.publish(published);
    assertStoredAs(relay, published, results);
    assert.ok(relay.seen.some((r) => r.events.length === 7));
    assert.deepEqual(
      relay.stored.map((s) => s.event.id),
      ids(published),
    );
  });

  test('a 413 on a single event is final', async (t) => {
    const relay = await startRelay(t, () => ({ status: 413, body: errorBody('TC_ERR_PAYLOAD_TOO_LARGE', 'too big') }));
    const client = clientFor(t, relay);
    await assert.rejects(client.publish(eventFor()), isPublishError('TC_ERR_PUBLISH_REJECTED', 413));
    assert.equal(relay.seen.length, 1);
  });

  test('after maxAttempts it rejects with TC_ERR_PUBLISH_FAILED', async (t) => {
    const relay = await startRelay(t, () => ({ status: 503, body: errorBody('TC_ERR_REDIS_UNAVAILABLE', 'down') }));
    const client = clientFor(t, relay, { maxAttempts: 3 });
    const published = events(2);
    const settled = await Promise.allSettled(published.map((event) => client.publish(event)));
    for (const outcome of settled) {
      assert.equal(outcome.status, 'rejected');
      if (outcome.status === 'rejected') {
        isPublishError('TC_ERR_PUBLISH_FAILED', 503)(outcome.reason);
        assert.match((outcome.reason as Error).message, /maxAttempts/);
      }
    }
    assert.equal(relay.seen.length, 3);
  });

  test('after maxAttempts of dropped connections it rejects with TC_ERR_PUBLISH_FAILED and the cause', async (t) => {
    const relay = await startRelay(t, () => 'destroy');
    const client = clientFor(t, relay, { maxAttempts: 2 });
    await assert.rejects(client.publish(eventFor()), (error: unknown) => {
      isPublishError('TC_ERR_PUBLISH_FAILED', undefined)(error);
      assert.ok((error as Error).cause !== undefined);
      return true;
    });
    assert.equal(relay.seen.length, 2);
  });

  test("a tenant's events reach the relay in publish order even when an earlier batch is retried", async (t) => {
    let firstSeen!: () => void;
    const seenFirst = new Promise<void>((resolve) => {
      firstSeen = resolve;
    });
    const relay = await startRelay(t, async (r) => {
      if (r.n !== 0) return 'accept';
      firstSeen();
      await delay(30); // let the later publishes queue up behind the failing batch
      return { status: 503, body: errorBody('TC_ERR_REDIS_UNAVAILABLE', 'down') };
    });
    const client = clientFor(t, relay, { maxBatchSize: 2 });
    const early = events(4);
    const late = events(4);
    const pending = early.map((event) => client.publish(event));
    await seenFirst;
    pending.push(...late.map((event) => client.publish(event)));
    assertStoredAs(relay, [...early, ...late], await Promise.all(pending));
    assert.deepEqual(
      relay.stored.map((s) => s.event.id),
      ids([...early, ...late]),
    );
    assert.deepEqual(ids(relay.seen[1]?.events ?? []), ids(relay.seen[0]?.events ?? []), 'the retry did not come first');
  });

  test("one tenant's retries do not hold up another tenant", async (t) => {
    const relay = await startRelay(t, (r) =>
      r.events[0]?.tenantid === 'slow' && r.n < 3
        ? { status: 429, headers: { 'retry-after': '1' }, body: errorBody('TC_ERR_RATE_LIMITED', 'wait') }
        : 'accept',
    );
    const client = clientFor(t, relay);
    const slow = client.publish(eventFor('slow'));
    const started = performance.now();
    const fast = eventFor('fast');
    assert.equal((await client.publish(fast)).offset, relay.offsetOf(fast));
    assert.ok(performance.now() - started < 800, 'the other tenant waited for the retry');
    await client.close({ abort: true });
    await assert.rejects(slow, isPublishError('TC_ERR_PUBLISH_FAILED', undefined));
  });
});

describe('RelayClient: local validation and closing', () => {
  test('a bad event is rejected before any request is sent', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay);
    const bad = { ...eventFor(), tenantid: 'acme corp' };
    await assert.rejects(client.publish(bad), (error: unknown) => {
      isPublishError('TC_ERR_VALIDATION')(error);
      assert.deepEqual(
        (error as TenantcastError).details.map((d) => d.path),
        ['/tenantid'],
      );
      return true;
    });
    await client.flush();
    assert.equal(relay.seen.length, 0);
  });

  test('one bad event in an array sends none of them, and names its index', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay);
    const batch = [eventFor(), { ...eventFor(), data: { id: 42 } }, eventFor()];
    await assert.rejects(client.publish(batch), (error: unknown) => {
      isPublishError('TC_ERR_VALIDATION')(error);
      assert.deepEqual(
        (error as TenantcastError).details.map((d) => [d.index, d.path]),
        [[1, '/data/id']],
      );
      return true;
    });
    await client.flush();
    assert.equal(relay.seen.length, 0);
  });

  test('registry: null leaves validation to the relay', async (t) => {
    const relay = await startRelay(t, (r) =>
      r.events[0]?.tenantid === 'acme corp' ? { status: 400, body: errorBody('TC_ERR_BAD_TENANT_ID', 'bad tenant id') } : 'accept',
    );
    const client = clientFor(t, relay, { registry: null });
    await assert.rejects(client.publish({ ...eventFor(), tenantid: 'acme corp' }), isPublishError('TC_ERR_PUBLISH_REJECTED', 400));
    assert.equal(relay.seen.length, 1);
  });

  test('close sends what is pending, then refuses to publish', async (t) => {
    const relay = await startRelay(t);
    const client = clientFor(t, relay);
    const event = eventFor();
    const pending = client.publish(event);
    await client.close();
    assert.equal((await pending).offset, relay.offsetOf(event));
    await assert.rejects(
      client.publish(eventFor()),
      (error: unknown) => error instanceof TenantcastError && error.code === 'TC_ERR_BAD_OPTIONS',
    );
    assert.equal(relay.seen.length, 1);
  });

  test('close with abort cuts a retry short', async (t) => {
    const relay = await startRelay(t, () => ({
      status: 503,
      headers: { 'retry-after': '30' },
      body: errorBody('TC_ERR_REDIS_UNAVAILABLE', 'down'),
    }));
    const client = clientFor(t, relay);
    const pending = client.publish(eventFor());
    pending.catch(() => {});
    while (relay.seen.length === 0) await delay(5);
    const started = performance.now();
    await client.close({ abort: true });
    await assert.rejects(pending, isPublishError('TC_ERR_PUBLISH_FAILED', undefined));
    assert.ok(performance.now() - started < 1000);
  });
});
