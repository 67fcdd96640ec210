import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { type DeliveryRequest, deliver } from './deliver.ts';
import { describeAttempt } from './delivery-log.ts';
import { HostResolver } from './host-resolver.ts';

// One delivery attempt (deliver.ts) against real receivers on loopback.

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** A receiver on 127.0.0.1 that hands each request to `handle`; closed when the test ends. */
async function receiver(t: TestContext, handle: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const request = (url: string, overrides: Partial<DeliveryRequest> = {}): DeliveryRequest => ({
  url,
  secrets: [SECRET],
  webhookId: 'msg_acme_1700000000000-0',
  body: JSON.stringify({ specversion: '1.0', id: 'e1', source: 'deliver-test', type: 'com.example.x', tenantid: 'acme', data: { é: '✓' } }),
  timeoutMs: 2000,
  resolver: new HostResolver({ timeoutMs: 1000 }),
  allowPrivate: true,
  ...overrides,
});

describe('deliver()', () => {
  test('POSTs the body in structured mode with Standard Webhooks headers that the official library verifies', async (t) => {
    let seen: { method?: string; headers: IncomingMessage['headers']; body: string } | undefined;
    const url = await receiver(t, (req, res, body) => {
      seen = { method: req.method, headers: req.headers, body };
      res.writeHead(202).end('accepted');
    });
    const req = request(url);
    const result = await deliver(req);
    assert.equal(result.status, 202);
    assert.equal(result.snippet, 'accepted');
    assert.ok(result.durationMs >= 0);
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.body, req.body);
    assert.equal(seen?.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
    assert.equal(Number(seen?.headers['content-length']), Buffer.byteLength(req.body));
    assert.equal(seen?.headers['webhook-id'], req.webhookId);
    assert.match(String(seen?.headers['webhook-timestamp']), /^\d{10}$/);
    assert.deepEqual(new Webhook(SECRET).verify(seen!.body, seen!.headers as Record<string, string>), JSON.parse(req.body));
  });

  test('keeps at most 1 KiB of the answer for the dashboard', async (t) => {
    const url = await receiver(t, (_req, res) => res.writeHead(500).end('x'.repeat(10_000)));
    const result = await deliver(request(url));
    assert.equal(result.status, 500);
    assert.equal(result.snippet.length, 1024);
  });

  test('reads Retry-After in seconds or as an HTTP date, and ignores what it cannot read', async (t) => {
    const answers = ['5', new Date(Date.now() + 3000).toUTCString(), 'soon', ''];
    let n = 0;
    const url = await receiver(t, (_req, res) => {
      const value = answers[n++]!;
      res.writeHead(429, value === '' ? {} : { 'retry-after': value }).end();
    });
    assert.equal((await deliver(request(url))).retryAfterMs, 5000);
    const dated = (await deliver(request(url))).retryAfterMs;
    assert.ok(dated !== undefined && dated > 1000 && dated <= 3000, `HTTP-date Retry-After read as ${dated} ms`);
    assert.equal((await deliver(request(url))).retryAfterMs, undefined);
    assert.equal((await deliver(request(url))).retryAfterMs, undefined);
  });

  test('a receiver that never answers times out after timeoutMs: status 0, not permanent', async (t) => {
    const url = await receiver(t, () => {
      // Never answers.
    });
    const started = Date.now();
    const result = await deliver(request(url, { timeoutMs: 300 }));
    const took = Date.now() - started;
    assert.equal(result.status, 0);
    assert.notEqual(result.permanent, true);
    assert.match(result.snippet, /no complete answer within 300 ms/);
    assert.equal(describeAttempt(result), 'timeout after 300 ms', 'the log and the dashboard say it short');
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
  });

  test('a receiver that trickles its answer is cut off after timeoutMs too', async (t) => {
    const url = await receiver(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write('.');
        if (++sent === 30) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(timer));
    });
    const started = Date.now();
    const result = await deliver(request(url, { timeoutMs: 500 }));
    const took = Date.now() - started;
    // Whether the 200 then counts or not, the attempt must end near its timeout.
    assert.ok(took < 1500, `the delivery with a 500 ms timeout took ${took} ms (status ${result.status})`);
  });
});
