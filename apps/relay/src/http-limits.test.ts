import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { TIMEOUT_CHECK_INTERVAL_MS } from '@tenantcast/server';
import { scrapeMetric, until, within } from '@tenantcast/testkit';
import { STRUCTURED } from './testing/events-api.ts';
import { type HeldUpload, holdUpload } from './testing/held-upload.ts';
import { useRelay } from './testing/use-relay.ts';

// The relay's timeouts and connection cap (issue #16, finding 1): a body or headers trickled a byte
// at a time are cut at the configured timeout with 408, and connections past the cap are dropped.

const REQUEST_TIMEOUT_MS = 1500;
const HEADERS_TIMEOUT_MS = 1000;
/** The timeout, Node's check interval, and a margin for a loaded machine. */
const CUT_WITHIN_MS = REQUEST_TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + 2000;

const QLIK_SECRET = 'qlik-secret-for-timeouts';

const stack = useRelay({
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  qlikWebhookSecret: QLIK_SECRET,
});

async function expectCut(upload: HeldUpload, what: string): Promise<void> {
  upload.trickle(200);
  const answer = await within(upload.answer, `${what}: 408 within ${CUT_WITHIN_MS} ms`, CUT_WITHIN_MS);
  assert.equal(answer.status, 408, answer.body);
  const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
  assert.equal(error.code, 'TC_ERR_REQUEST_TIMEOUT');
  assert.match(error.message, /RELAY_REQUEST_TIMEOUT_MS/);
  await within(upload.closed, `${what}: the connection closed`, 1000);
}

describe('timeouts', () => {
  test('an unauthenticated slow body is closed within the request timeout (refused at once, before it)', async () => {
    const upload = holdUpload(stack.relay.url, { path: '/v1/events', headers: { 'content-type': STRUCTURED }, contentLength: 1000 });
    upload.trickle(200);
    const answer = await within(upload.answer, 'the refusal', CUT_WITHIN_MS);
    assert.equal(answer.status, 401);
    await within(upload.closed, 'the connection closed', CUT_WITHIN_MS);
  });

  test('a slow body to the Qlik webhook (authenticated only by its body) gets 408 TC_ERR_REQUEST_TIMEOUT', async () => {
    const signature = createHmac('sha256', QLIK_SECRET).update('x').digest('hex');
    const upload = holdUpload(stack.relay.url, {
      path: '/v1/qlik/webhook',
      headers: { 'content-type': 'application/json', 'qlik-signature': signature },
      contentLength: 1000,
    });
    await expectCut(upload, 'a Qlik webhook body sent a byte every 200 ms');
  });

  test('a slow body with a valid token gets 408 too', async () => {
    const upload = holdUpload(stack.relay.url, {
      path: '/v1/events',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': STRUCTURED },
      contentLength: 1000,
    });
    await expectCut(upload, 'a published body sent a byte every 200 ms');
  });

  test('headers sent a byte at a time are cut at the headers timeout, and the refusals are counted', async () => {
    const before =
      (await scrapeMetric(stack.relay.metricsUrl, 'tenantcast_relay_requests_rejected_total', { code: 'TC_ERR_REQUEST_TIMEOUT' })) ?? 0;
    const { hostname, port } = new URL(stack.relay.url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\n');
    const timer = setInterval(() => socket.write('X'), 200);
    try {
      await within(closed, `headers trickled: closed within ${CUT_WITHIN_MS} ms`, CUT_WITHIN_MS);
    } finally {
      clearInterval(timer);
    }
    assert.match(received, /^HTTP\/1\.1 408 /);
    const after = await scrapeMetric(stack.relay.metricsUrl, 'tenantcast_relay_requests_rejected_total', {
      code: 'TC_ERR_REQUEST_TIMEOUT',
    });
    assert.ok((after ?? 0) > before, `the timeout counted: ${before} -> ${after}`);
  });
});

describe("refusals of Node's parser", () => {
  test('headers over 16 KiB get 431 TC_ERR_HEADERS_TOO_LARGE, malformed HTTP 400 TC_ERR_BAD_REQUEST, in the JSON of every refusal', async () => {
    const big = holdUpload(stack.relay.url, {
      method: 'GET',
      path: '/healthz',
      headers: { 'x-padding': 'x'.repeat(20 * 1024) },
      contentLength: 0,
    });
    const tooLarge = await within(big.answer, 'the answer to 20 KiB of headers', 5000);
    assert.equal(tooLarge.status, 431);
    assert.equal((JSON.parse(tooLarge.body) as { error: { code: string } }).error.code, 'TC_ERR_HEADERS_TOO_LARGE');
    const bad = holdUpload(stack.relay.url, { method: 'GET', path: '/healthz', headers: { 'bad header': 'x' }, contentLength: 0 });
    const malformed = await within(bad.answer, 'the answer to a malformed header', 5000);
    assert.equal(malformed.status, 400);
    assert.equal((JSON.parse(malformed.body) as { error: { code: string } }).error.code, 'TC_ERR_BAD_REQUEST');
  });
});

describe('connection cap', () => {
  test('past RELAY_MAX_CONNECTIONS a new connection is closed on arrival and counted; below it, answered', async (t) => {
    // A relay of its own: no kept-alive connection of another test counts against its cap.
    const relay = await stack.startRelay(t, { maxConnections: 3 });
    const server = relay.relay.app.server;
    const open = () => new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
    const held = [0, 1, 2].map(() =>
      holdUpload(relay.url, { path: '/v1/events', headers: { authorization: `Bearer ${stack.token}` }, contentLength: 10 }),
    );
    try {
      await until(async () => (await open()) === 3, 'the relay holding three connections');
      // The fourth: Node closes it before reading any request.
      const extra = holdUpload(relay.url, { path: '/v1/events', headers: { 'content-type': STRUCTURED }, contentLength: 10 });
      await within(extra.closed, 'the connection past the cap closed', 5000);
      await assert.rejects(extra.answer, /without a complete answer/);
    } finally {
      for (const upload of held) upload.socket.destroy();
    }
    await until(async () => (await open()) === 0, 'the held connections closed');
    assert.equal(await scrapeMetric(relay.metricsUrl, 'tenantcast_relay_connections_dropped_total'), 1);
  });
});
