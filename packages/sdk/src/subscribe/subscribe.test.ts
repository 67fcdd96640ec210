import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { TenantcastError } from '../errors.ts';
import * as sdk from '../index.ts';
import { type ReceivedEvent, type SubscribeOptions, type SubscriptionStatus, subscribe } from './subscribe.ts';

// These tests run the client against a scripted tenantcast.v1 server on a real socket, to reach
// close codes and replies that the real gateway only sends under load or failure. The end-to-end
// tests against the real gateway are in tests/e2e/subscribe.test.ts.

type Events = { 'com.example.a': { n: number }; 'com.example.b': { s: string } };

/** One client connection to the scripted server. */
class Peer {
  readonly ws: WebSocket;
  readonly request: IncomingMessage;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #messages: unknown[] = [];
  #waiting: ((message: unknown) => void) | undefined;

  constructor(ws: WebSocket, request: IncomingMessage) {
    this.ws = ws;
    this.request = request;
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (this.#waiting === undefined) this.#messages.push(message);
      else {
        const waiting = this.#waiting;
        this.#waiting = undefined;
        waiting(message);
      }
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** The next JSON message the client sent. */
  message(): Promise<Record<string, unknown>> {
    const queued = this.#messages.shift();
    if (queued !== undefined) return Promise.resolve(queued as Record<string, unknown>);
    return within(new Promise((resolve) => (this.#waiting = resolve as (m: unknown) => void)), 'a client message');
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Acknowledges the client's subscribe message, as the gateway does. */
  async acceptSubscribe(after: string): Promise<Record<string, unknown>> {
    const message = await this.message();
    assert.equal(message.op, 'subscribe');
    this.send({ op: 'subscribed', id: message.id, tenantid: message.tenantid, after });
    return message;
  }

  event(offset: string, type: keyof Events = 'com.example.a'): void {
    const data = type === 'com.example.a' ? { n: Number(offset.split('-')[0]) } : { s: offset };
    this.send({ op: 'event', id: 's', event: { specversion: '1.0', id: `e-${offset}`, source: 'test', type, data, relayoffset: offset } });
  }

  /** The token the client sent: the Bearer header (ws in Node) or the query (browsers). */
  token(): string | undefined {
    const header = this.request.headers.authorization;
    if (header !== undefined) return header.replace(/^Bearer /, '');
    return new URL(this.request.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
  }
}

/** How the scripted server refuses an upgrade: the HTTP status, the body, and headers. */
interface Refusal {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** A refusal as the gateway answers one: `{"error":{"code","message"}}` in JSON. */
function gatewayRefusal(status: number, code: string, message: string, headers: Record<string, string> = {}): Refusal {
  return { status, body: JSON.stringify({ error: { code, message } }), headers: { 'Content-Type': 'application/json', ...headers } };
}

/** A scripted tenantcast.v1 server on a free port. */
class FakeGateway implements AsyncDisposable {
  readonly wss: WebSocketServer;
  readonly url: string;
  connections = 0;
  readonly #peers: Peer[] = [];
  #waiting: ((peer: Peer) => void) | undefined;

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    this.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    wss.on('connection', (ws, request) => {
      this.connections++;
      const peer = new Peer(ws, request);
      if (this.#waiting === undefined) this.#peers.push(peer);
      else {
        const waiting = this.#waiting;
        this.#waiting = undefined;
        waiting(peer);
      }
    });
  }

  /** `refuse` answers an upgrade attempt (numbered from 0) with a refusal, or lets it through with undefined. */
  static async start(options: { refuse?: (attempt: number) => Refusal | undefined } = {}): Promise<FakeGateway> {
    let attempts = 0;
    const { refuse } = options;
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (offered) => (offered.has('tenantcast.v1') ? 'tenantcast.v1' : false),
      verifyClient:
        refuse === undefined
          ? undefined
          : (_info, callback) => {
              const refusal = refuse(attempts++);
              if (refusal === undefined) callback(true);
              else callback(false, refusal.status, refusal.body, refusal.headers);
            },
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new FakeGateway(wss);
  }

  /** The next client connection. */
  peer(): Promise<Peer> {
    const queued = this.#peers.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return within(new Promise((resolve) => (this.#waiting = resolve)), 'a client connection');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Rejects when `promise` takes longer than `ms`, naming what was awaited. */
function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port of 127.0.0.1 that nothing listens on: one the kernel handed out, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A subscription with small backoff that records its statuses and is closed when the test ends. */
function open(
  t: { after(fn: () => void): void },
  options: Partial<SubscribeOptions<Events>> & { url: string },
): {
  sub: ReturnType<typeof subscribe<Events>>;
  next: () => Promise<ReceivedEvent<Events>>;
  statuses: Array<{ status: SubscriptionStatus; code?: number; httpStatus?: number; delayMs?: number }>;
} {
  const statuses: Array<{ status: SubscriptionStatus; code?: number; httpStatus?: number; delayMs?: number }> = [];
  const sub = subscribe<Events>({
    token: 'tok',
    tenantid: 'acme',
    backoff: { baseMs: 10, maxMs: 50 },
    onStatus: (status, detail) => statuses.push({ status, code: detail?.code, httpStatus: detail?.httpStatus, delayMs: detail?.delayMs }),
    ...options,
  });
  t.after(() => sub.close());
  const iterator = sub[Symbol.asyncIterator]();
  const next = async () => {
    const result = await within(iterator.next(), 'an event');
    assert.equal(result.done, false, 'the iteration ended early');
    return result.value as ReceivedEvent<Events>;
  };
  return { sub, next, statuses };
}

/** Reads the iteration to its end and returns what it threw. */
async function ending(sub: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const _ of sub) {
      // Drain.
    }
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('subscribe() against a scripted tenantcast.v1 server', () => {
  test('connects to /v1/connect with tenantcast.v1 and the token, and subscribes with tenantid, filters and after', async (t) => {
    await using gateway = await FakeGateway.start();
    const filters = [{ prefix: { type: 'com.example.' } }];
    const { sub } = open(t, { url: `${gateway.url.replace('ws:', 'http:')}/base/`, filters, after: '10-0' });
    const peer = await gateway.peer();
    assert.equal(new URL(peer.request.url ?? '', 'http://x').pathname, '/base/v1/connect');
    assert.equal(peer.ws.protocol, 'tenantcast.v1');
    assert.equal(peer.token(), 'tok');
    const message = await peer.acceptSubscribe('10-0');
    assert.deepEqual(message, { op: 'subscribe', id: 's', tenantid: 'acme', filters, after: '10-0' });
    await within(sub.ready, 'ready');
    assert.equal(sub.status, 'open');
  });

  test('without after or filters, the subscribe message has neither', async (t) => {
    await using gateway = await FakeGateway.start();
    open(t, { url: gateway.url });
    const peer = await gateway.peer();
    assert.deepEqual(await peer.message(), { op: 'subscribe', id: 's', tenantid: 'acme' });
  });

  test('yields events to the iterator and to onEvent, in order, and tracks the offset', async (t) => {
    await using gateway = await FakeGateway.start();
    const called: string[] = [];
    const { sub, next } = open(t, { url: gateway.url, onEvent: (event) => called.push(event.relayoffset) });
    assert.equal(sub.status, 'connecting');
    const peer = await gateway.peer();
    await peer.acceptSubscribe('5-0');
    await within(sub.ready, 'ready');
    peer.event('6-0');
    peer.event('7-0', 'com.example.b');
    const first = await next();
    const second = await next();
    assert.equal(first.relayoffset, '6-0');
    if (first.type === 'com.example.a') assert.equal(first.data.n, 6);
    else assert.fail('first event is com.example.a');
    assert.equal(second.type, 'com.example.b');
    assert.deepEqual(called, ['6-0', '7-0']);
    assert.equal(sub.offset, '7-0');
  });

  test('a live-only subscription starts at the offset the server names, and resumes there', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub } = open(t, { url: gateway.url });
    const first = await gateway.peer();
    await first.acceptSubscribe('42-3');
    await within(sub.ready, 'ready');
    assert.equal(sub.offset, '42-3');
    first.ws.close(1001, 'going away');
    const second = await gateway.peer();
    assert.equal((await second.message()).after, '42-3');
  });

  test('drops events at or before its offset, comparing offsets as numbers', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub, next } = open(t, { url: gateway.url, after: '100-9' });
    const peer = await gateway.peer();
    await peer.acceptSubscribe('100-9');
    await within(sub.ready, 'ready');
    for (const offset of ['100-8', '100-9', '99-20', '100-10', '100-10', '100-9', '999-5', '1000-0', '999-9']) peer.event(offset);
    assert.equal((await next()).relayoffset, '100-10');
    assert.equal((await next()).relayoffset, '999-5');
    assert.equal((await next()).relayoffset, '1000-0');
    peer.event('1000-1');
    assert.equal((await next()).relayoffset, '1000-1');
  });

  test('reconnects after 1001, 1006, 1011, 1013, 4001 and 4008 and resumes after its last offset each time', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub, next, statuses } = open(t, { url: gateway.url, after: '0' });
    let peer = await gateway.peer();
    await peer.acceptSubscribe('0');
    peer.event('1-0');
    assert.equal((await next()).relayoffset, '1-0');
    let ms = 1;
    for (const code of [1001, 1006, 1011, 1013, 4001, 4008]) {
      if (code === 1006) peer.ws.terminate();
      else peer.ws.close(code, `closing with ${code}`);
      peer = await gateway.peer();
      const message = await peer.acceptSubscribe(`${ms}-0`);
      assert.equal(message.after, `${ms}-0`, `resubscribes after the last offset, following ${code}`);
      // The server replays the edge it had sent: the client drops it.
      peer.event(`${ms}-0`);
      ms++;
      peer.event(`${ms}-0`);
      assert.equal((await next()).relayoffset, `${ms}-0`);
      const reconnecting = statuses.filter((s) => s.status === 'reconnecting').at(-1);
      assert.equal(reconnecting?.code, code);
      assert.ok(reconnecting.delayMs !== undefined && reconnecting.delayMs >= 0 && reconnecting.delayMs < 50, 'delay within backoff.maxMs');
    }
    assert.equal(gateway.connections, 7);
    assert.equal(sub.status, 'open');
  });

  test('reports open, reconnecting, open and closed through onStatus', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub, statuses } = open(t, { url: gateway.url });
    const first = await gateway.peer();
    await first.acceptSubscribe('1-0');
    await within(sub.ready, 'ready');
    first.ws.close(1001, 'bye');
    const second = await gateway.peer();
    await second.acceptSubscribe('1-0');
    while (sub.status !== 'open') await sleep(5);
    sub.close();
    assert.deepEqual(
      statuses.map((s) => s.status),
      ['open', 'reconnecting', 'open', 'closed'],
    );
    assert.equal(sub.status, 'closed');
    assert.equal((await second.closed).code, 1000);
  });

  for (const code of [1002, 1003, 1007, 1008, 1009, 4000]) {
    test(`a close with ${code} ends the iteration with TC_ERR_SUBSCRIBE_REFUSED and no reconnect`, async (t) => {
      await using gateway = await FakeGateway.start();
      const { sub, next } = open(t, { url: gateway.url });
      const peer = await gateway.peer();
      await peer.acceptSubscribe('1-0');
      peer.event('2-0');
      assert.equal((await next()).relayoffset, '2-0');
      peer.ws.close(code, 'fatal');
      const error = await within(ending(sub), 'the end');
      assert.ok(error instanceof TenantcastError);
      assert.equal(error.code, 'TC_ERR_SUBSCRIBE_REFUSED');
      assert.match(error.message, new RegExp(String(code)));
      assert.equal(sub.status, 'closed');
      await sleep(100);
      assert.equal(gateway.connections, 1);
    });
  }

  test('a close with 4010 ends the iteration with TC_ERR_OFFSET_EXPIRED, after the events already received', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub } = open(t, { url: gateway.url, after: '3-0' });
    const peer = await gateway.peer();
    await peer.acceptSubscribe('3-0');
    peer.event('4-0');
    peer.event('5-0');
    peer.ws.close(4010, 'trimmed');
    const seen: string[] = [];
    const error = await within(
      (async () => {
        try {
          for await (const event of sub) seen.push(event.relayoffset);
        } catch (e) {
          return e;
        }
      })(),
      'the end',
    );
    assert.deepEqual(seen, ['4-0', '5-0']);
    assert.ok(error instanceof TenantcastError);
    assert.equal(error.code, 'TC_ERR_OFFSET_EXPIRED');
    assert.equal(sub.status, 'closed');
  });

  test('a close with 4011 ends the iteration with TC_ERR_OFFSET_AHEAD, after the events already received', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub, next } = open(t, { url: gateway.url, after: '3-0' });
    const peer = await gateway.peer();
    await peer.acceptSubscribe('3-0');
    peer.event('4-0');
    assert.equal((await next()).relayoffset, '4-0');
    peer.ws.close(4011, 'Redis lost events it had handed out; resume with after=0 or without after');
    const error = await within(ending(sub), 'the end');
    assert.ok(error instanceof TenantcastError);
    assert.equal(error.code, 'TC_ERR_OFFSET_AHEAD');
    assert.match(error.message, /4-0/, 'names the offset it had');
    assert.match(error.message, /after=0/, "carries the gateway's reason");
    assert.equal(sub.status, 'closed');
    await sleep(100);
    assert.equal(gateway.connections, 1, 'no reconnect');
  });

  test('an error reply TC_ERR_OFFSET_EXPIRED ends it with TC_ERR_OFFSET_EXPIRED, and rejects ready', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub } = open(t, { url: gateway.url, after: '3-0' });
    const peer = await gateway.peer();
    await peer.message();
    peer.send({ op: 'error', id: 's', code: 'TC_ERR_OFFSET_EXPIRED', message: 'trimmed' });
    await assert.rejects(within(sub.ready, 'ready'), { name: 'TenantcastError', code: 'TC_ERR_OFFSET_EXPIRED' });
    const error = await within(ending(sub), 'the end');
    assert.ok(error instanceof TenantcastError);
    assert.equal(error.code, 'TC_ERR_OFFSET_EXPIRED');
    assert.equal((await peer.closed).code, 1000);
  });

  for (const [code, expected] of [
    ['TC_ERR_FORBIDDEN_TENANT', 'TC_ERR_FORBIDDEN_TENANT'],
    ['TC_ERR_BAD_FILTER', 'TC_ERR_BAD_FILTER'],
    ['TC_ERR_FORBIDDEN_ORIGIN', 'TC_ERR_FORBIDDEN_ORIGIN'],
    ['TC_ERR_BAD_OFFSET', 'TC_ERR_BAD_OFFSET'],
    ['TC_ERR_OFFSET_AHEAD', 'TC_ERR_OFFSET_AHEAD'],
    ['TC_ERR_SOMETHING_NEW', 'TC_ERR_SUBSCRIBE_REFUSED'],
  ] as const) {
    test(`an error reply ${code} ends it with ${expected} and the server's message, without a reconnect`, async (t) => {
      await using gateway = await FakeGateway.start();
      const { sub, statuses } = open(t, { url: gateway.url });
      const peer = await gateway.peer();
      await peer.message();
      peer.send({ op: 'error', id: 's', code, message: 'the reason the server gives' });
      await assert.rejects(within(sub.ready, 'ready'), (error: unknown) => {
        assert.ok(error instanceof TenantcastError);
        assert.equal(error.code, expected);
        assert.match(error.message, /the reason the server gives/);
        // A code this SDK does not know is named in the message.
        if (expected === 'TC_ERR_SUBSCRIBE_REFUSED') assert.match(error.message, new RegExp(code));
        return true;
      });
      assert.ok((await within(ending(sub), 'the end')) instanceof TenantcastError);
      assert.deepEqual(
        statuses.map((s) => s.status),
        ['closed'],
      );
      await sleep(100);
      assert.equal(gateway.connections, 1);
    });
  }

  for (const code of ['TC_ERR_REDIS_UNAVAILABLE', 'TC_ERR_INTERNAL', 'TC_ERR_TOO_MANY_CONNECTIONS']) {
    test(`an error reply ${code} is retried on a new connection`, async (t) => {
      await using gateway = await FakeGateway.start();
      const { sub } = open(t, { url: gateway.url, after: '7-0' });
      const first = await gateway.peer();
      await first.message();
      first.send({ op: 'error', id: 's', code, message: 'later' });
      const second = await gateway.peer();
      assert.equal((await second.acceptSubscribe('7-0')).after, '7-0');
      await within(sub.ready, 'ready');
    });
  }

  test('ignores frames that are not JSON, and replies it does not know', async (t) => {
    await using gateway = await FakeGateway.start();
    const { next } = open(t, { url: gateway.url });
    const peer = await gateway.peer();
    await peer.acceptSubscribe('1-0');
    peer.ws.send('not json');
    peer.send({ op: 'pong' });
    peer.send({ op: 'event', id: 's' });
    peer.event('2-0');
    assert.equal((await next()).relayoffset, '2-0');
  });

  test('calls a token function once per connection', async (t) => {
    await using gateway = await FakeGateway.start();
    let calls = 0;
    const { sub } = open(t, {
      url: gateway.url,
      token: async () => {
        calls++;
        return `tok-${calls}`;
      },
    });
    const first = await gateway.peer();
    assert.equal(first.token(), 'tok-1');
    await first.acceptSubscribe('1-0');
    await within(sub.ready, 'ready');
    first.ws.close(4001, 'token expired');
    const second = await gateway.peer();
    assert.equal(second.token(), 'tok-2');
    assert.equal(calls, 2);
  });

  test('a token function that throws ends it with TC_ERR_BAD_OPTIONS', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub } = open(t, {
      url: gateway.url,
      token: () => {
        throw new Error('no credentials');
      },
    });
    await assert.rejects(within(sub.ready, 'ready'), (error: unknown) => {
      assert.ok(error instanceof TenantcastError);
      assert.equal(error.code, 'TC_ERR_BAD_OPTIONS');
      assert.match(error.message, /no credentials/);
      return true;
    });
    assert.equal(sub.status, 'closed');
    assert.equal(gateway.connections, 0);
  });

  test('an onEvent callback that throws neither costs the iterator that event nor stalls the subscription', async (t) => {
    await using gateway = await FakeGateway.start();
    let calls = 0;
    const { sub, next } = open(t, {
      url: gateway.url,
      onEvent: () => {
        calls++;
        if (calls === 2) throw new Error('a bug in the application');
      },
    });
    const peer = await gateway.peer();
    await peer.acceptSubscribe('1-0');
    await within(sub.ready, 'ready');
    for (const offset of ['2-0', '3-0', '4-0']) peer.event(offset);
    assert.deepEqual([(await next()).relayoffset, (await next()).relayoffset, (await next()).relayoffset], ['2-0', '3-0', '4-0']);
    peer.event('5-0');
    assert.equal((await next()).relayoffset, '5-0');
  });

  test('a given WebSocket constructor gets the token in the query, as in browsers', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub } = open(t, { url: gateway.url, WebSocket: WebSocket as unknown as SubscribeOptions['WebSocket'] });
    const peer = await gateway.peer();
    assert.equal(peer.request.headers.authorization, undefined);
    assert.equal(new URL(peer.request.url ?? '', 'http://x').searchParams.get('token'), 'tok');
    await peer.acceptSubscribe('1-0');
    await within(sub.ready, 'ready');
  });

  for (const [status, code] of [
    [401, 'TC_ERR_TOKEN_INVALID'],
    [401, 'TC_ERR_UNAUTHORIZED'],
    [403, 'TC_ERR_FORBIDDEN_SCOPE'],
    [400, 'TC_ERR_BAD_REQUEST'],
    [404, 'TC_ERR_NOT_FOUND'],
    [409, 'TC_ERR_OFFSET_AHEAD'],
  ] as const) {
    test(`an upgrade refused with ${status} ${code} ends it at once with that code, status and message; ready rejects`, async (t) => {
      await using gateway = await FakeGateway.start({ refuse: () => gatewayRefusal(status, code, 'what the gateway says to change') });
      const { sub, statuses } = open(t, { url: gateway.url });
      await assert.rejects(within(sub.ready, 'ready'), (error: unknown) => {
        assert.ok(error instanceof TenantcastError);
        assert.equal(error.code, code);
        assert.equal(error.status, status);
        assert.equal(error.message, 'what the gateway says to change');
        return true;
      });
      const end = await within(ending(sub), 'the end');
      assert.ok(end instanceof TenantcastError && end.code === code);
      assert.deepEqual(
        statuses.map((s) => s.status),
        ['closed'],
      );
      await sleep(100);
      assert.equal(gateway.connections, 0);
    });
  }

  test('a refusal that is not JSON of tenantcast (a proxy’s page) ends it with TC_ERR_SUBSCRIBE_REFUSED and its status', async (t) => {
    await using gateway = await FakeGateway.start({ refuse: () => ({ status: 403, body: '<h1>Forbidden</h1>' }) });
    const { sub } = open(t, { url: gateway.url });
    await assert.rejects(within(sub.ready, 'ready'), (error: unknown) => {
      assert.ok(error instanceof TenantcastError);
      assert.equal(error.code, 'TC_ERR_SUBSCRIBE_REFUSED');
      assert.equal(error.status, 403);
      assert.match(error.message, /403/);
      return true;
    });
  });

  test('an upgrade refused with 503 and Retry-After is retried no sooner than it says, then subscribes', async (t) => {
    const busy = gatewayRefusal(503, 'TC_ERR_SHUTTING_DOWN', 'stopping', { 'Retry-After': '1' });
    await using gateway = await FakeGateway.start({ refuse: (attempt) => (attempt === 0 ? busy : undefined) });
    const { sub, statuses } = open(t, { url: gateway.url });
    const peer = await gateway.peer();
    await peer.acceptSubscribe('1-0');
    await within(sub.ready, 'ready');
    const retried = statuses.find((s) => s.status === 'reconnecting');
    assert.equal(retried?.status, 'reconnecting');
    assert.equal(retried.code, 1006);
    assert.equal(retried.httpStatus, 503);
    assert.ok(
      retried.delayMs !== undefined && retried.delayMs >= 1000 && retried.delayMs < 1050,
      `waits Retry-After plus backoff: ${retried.delayMs}`,
    );
  });

  for (const [status, code] of [
    [429, 'TC_ERR_TOO_MANY_CONNECTIONS'],
    [500, 'TC_ERR_INTERNAL'],
    [502, undefined],
    [503, 'TC_ERR_REDIS_UNAVAILABLE'],
  ] as const) {
    test(`an upgrade refused with ${status} is retried with backoff`, async (t) => {
      const refusal = code === undefined ? { status, body: 'Bad Gateway' } : gatewayRefusal(status, code, 'later');
      await using gateway = await FakeGateway.start({ refuse: (attempt) => (attempt < 2 ? refusal : undefined) });
      const { sub, statuses } = open(t, { url: gateway.url });
      const peer = await gateway.peer();
      await peer.acceptSubscribe('1-0');
      await within(sub.ready, 'ready');
      const retries = statuses.filter((s) => s.status === 'reconnecting');
      assert.equal(retries.length, 2);
      assert.ok(retries.every((s) => s.httpStatus === status && s.delayMs !== undefined && s.delayMs < 50));
    });
  }

  test('a gateway that cannot be reached is retried with backoff until close(), which rejects ready', async (t) => {
    const { sub, statuses } = open(t, { url: `ws://127.0.0.1:${await closedPort()}` });
    while (statuses.length < 3) await within(sleep(10), 'retries');
    assert.ok(statuses.every((s) => s.status === 'reconnecting' && s.code === 1006));
    sub.close();
    await assert.rejects(sub.ready, { code: 'TC_ERR_BAD_OPTIONS' });
    const count = statuses.length;
    await sleep(100);
    assert.equal(statuses.length, count, 'no retry after close()');
    assert.equal(statuses.at(-1)?.status, 'closed');
  });

  test('close() ends a waiting iteration and closes the socket with 1000', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub } = open(t, { url: gateway.url });
    const peer = await gateway.peer();
    await peer.acceptSubscribe('1-0');
    await within(sub.ready, 'ready');
    const iterator = sub[Symbol.asyncIterator]();
    const pending = iterator.next();
    sub.close();
    assert.deepEqual(await within(pending, 'the end'), { value: undefined, done: true });
    assert.equal((await within(peer.closed, 'the close')).code, 1000);
    sub.close();
    assert.equal(sub.status, 'closed');
  });

  test('close() during a reconnect delay stops reconnecting', async (t) => {
    await using gateway = await FakeGateway.start();
    // Full jitter may pick a delay near 0, so the close happens in the status callback itself,
    // synchronously with the start of the delay, rather than after polling for it.
    let closeNow: () => void = () => {};
    const { sub } = open(t, {
      url: gateway.url,
      backoff: { baseMs: 200, maxMs: 200 },
      onStatus: (status) => {
        if (status === 'reconnecting') closeNow();
      },
    });
    closeNow = () => sub.close();
    const peer = await gateway.peer();
    await peer.acceptSubscribe('1-0');
    peer.ws.close(1001, 'bye');
    while (sub.status !== 'closed') await within(sleep(5), 'closed');
    await sleep(300);
    assert.equal(gateway.connections, 1);
    assert.equal(await ending(sub), undefined);
  });

  test('break out of for-await closes the subscription and its socket', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub } = open(t, { url: gateway.url });
    const peer = await gateway.peer();
    await peer.acceptSubscribe('1-0');
    peer.event('2-0');
    peer.event('3-0');
    for await (const event of sub) {
      assert.equal(event.relayoffset, '2-0');
      break;
    }
    assert.equal(sub.status, 'closed');
    assert.equal((await within(peer.closed, 'the close')).code, 1000);
  });

  test('close() before the connection opens rejects ready and opens nothing for long', async (t) => {
    await using gateway = await FakeGateway.start();
    const { sub } = open(t, { url: gateway.url });
    sub.close();
    await assert.rejects(sub.ready, { code: 'TC_ERR_BAD_OPTIONS' });
    assert.equal(await ending(sub), undefined);
    await sleep(100);
    assert.equal(gateway.wss.clients.size, 0);
  });
});

test('the SDK entry point exports subscribe', () => {
  assert.equal(sdk.subscribe, subscribe);
});
