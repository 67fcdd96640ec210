import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { createEvent } from '../create-event.ts';
import { createNodeFetch } from './node-fetch.ts';
import { RelayClient } from './relay-client.ts';

/**
 * RelayClient over createNodeFetch (node:http with kept-alive sockets) against a relay on a real
 * socket: what it sends and reads is what it does over the global fetch (relay-client.test.ts), and
 * the attempt timeout and retries still work.
 */

async function server(t: TestContext, handle: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  let connections = 0;
  const http = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => handle(req, body, res));
  });
  http.on('connection', () => connections++);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    http.closeAllConnections();
    http.close();
  });
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, connections: () => connections };
}

const accepted = (events: Array<{ id: string; source: string }>) =>
  JSON.stringify({ accepted: events.map((e, i) => ({ id: e.id, source: e.source, offset: `1-${i}`, duplicate: false })) });

const event = (id: string, tenant = 'acme') =>
  createEvent('com.qlik.web-integration.deleted', { id, source: 'com.example/node-fetch-test', tenantid: tenant, data: { id } });

describe('createNodeFetch', () => {
  test('RelayClient publishes single events and batches over it, with its headers, on kept-alive sockets', async (t) => {
    const seen: Array<{ authorization?: string; type?: string; body: string }> = [];
    const relay = await server(t, (req, body, res) => {
      seen.push({ authorization: req.headers.authorization, type: req.headers['content-type'], body });
      const parsed = JSON.parse(body);
      res.writeHead(202, { 'content-type': 'application/json' }).end(accepted(Array.isArray(parsed) ? parsed : [parsed]));
    });
    const client = new RelayClient({ url: relay.url, token: 'tok', fetch: createNodeFetch() });
    t.after(() => client.close());
    const one = await client.publish(event('a'));
    assert.deepEqual(one, { id: 'a', source: 'com.example/node-fetch-test', offset: '1-0', duplicate: false });
    const many = await client.publish([event('b'), event('c')]);
    assert.deepEqual(
      many.map((r) => [r.id, r.offset]),
      [
        ['b', '1-0'],
        ['c', '1-1'],
      ],
    );
    for (let i = 0; i < 5; i++) await client.publish(event(`s${i}`));
    assert.equal(seen[0]!.authorization, 'Bearer tok');
    assert.equal(seen[0]!.type, 'application/cloudevents+json; charset=utf-8');
    assert.equal(seen[1]!.type, 'application/cloudevents-batch+json; charset=utf-8');
    assert.equal(JSON.parse(seen[1]!.body).length, 2);
    assert.equal(relay.connections(), 1, 'one kept-alive socket served every request made one after another');
  });

  test("a relay's refusal reaches the caller with its code, status and Retry-After honoured", async (t) => {
    let calls = 0;
    const relay = await server(t, (_req, body, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"error":{"code":"TC_ERR_RATE_LIMITED"}}');
        return;
      }
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'TC_ERR_VALIDATION', message: `bad: ${JSON.parse(body).id}` } }));
    });
    const client = new RelayClient({ url: relay.url, token: 'tok', fetch: createNodeFetch(), backoff: { baseMs: 1, maxMs: 2 } });
    t.after(() => client.close());
    await assert.rejects(client.publish(event('x')), (error: { code: string; status: number; message: string }) => {
      assert.equal(error.code, 'TC_ERR_PUBLISH_REJECTED');
      assert.equal(error.status, 400);
      assert.match(error.message, /bad: x/);
      return true;
    });
    assert.equal(calls, 2, 'the 429 was retried once');
  });

  test('an attempt that hangs is cut at timeoutMs and retried; a dropped connection is retried', async (t) => {
    let calls = 0;
    const relay = await server(t, (req, body, res) => {
      calls++;
      if (calls === 1) return; // never answers
      if (calls === 2) {
        req.socket.destroy();
        return;
      }
      res.writeHead(202, { 'content-type': 'application/json' }).end(accepted([JSON.parse(body)]));
    });
    const client = new RelayClient({
      url: relay.url,
      token: 'tok',
      fetch: createNodeFetch(),
      timeoutMs: 200,
      backoff: { baseMs: 1, maxMs: 2 },
    });
    t.after(() => client.close({ abort: true }));
    const result = await client.publish(event('late'));
    assert.equal(result.offset, '1-0');
    assert.equal(calls, 3);
  });

  test('an aborted signal rejects with its reason, and a body that is not a string is refused', async () => {
    const nodeFetch = createNodeFetch();
    const abort = new AbortController();
    abort.abort(new Error('stop'));
    await assert.rejects(nodeFetch('http://127.0.0.1:1/', { signal: abort.signal }), /stop/);
    await assert.rejects(nodeFetch('http://127.0.0.1:1/', { method: 'POST', body: new Uint8Array(1) }), TypeError);
  });
});

describe('the SDK entry for Node (the node export condition)', () => {
  test('RelayClient from @tenantcast/sdk publishes over node:http by default: the global fetch is never called', async (t) => {
    const relay = await server(t, (_req, body, res) =>
      res.writeHead(202, { 'content-type': 'application/json' }).end(accepted([JSON.parse(body)].flat())),
    );
    const globalFetch = globalThis.fetch;
    let globalCalls = 0;
    globalThis.fetch = (...args: Parameters<typeof fetch>) => {
      globalCalls++;
      return globalFetch(...args);
    };
    t.after(() => {
      globalThis.fetch = globalFetch;
    });
    // The package's own name: resolved through its exports, as an application would import it.
    const sdk = await import('@tenantcast/sdk');
    const client = new sdk.RelayClient({ url: relay.url, token: 't' });
    t.after(() => client.close());
    const stored = await client.publish(event('e-default'));
    assert.equal(stored.duplicate, false);
    assert.equal(globalCalls, 0);
  });
});
