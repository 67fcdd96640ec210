import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEvent } from '../create-event.ts';
import { RelayClient } from './relay-client.ts';

// Garbage collection on demand, as `--expose-gc` gives it, without a flag on the test runner.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('an attempt that never gets an answer times out and is retried while the garbage collector runs', async (t) => {
  let requests = 0;
  // The first request gets no answer at all; the second is stored.
  const server = createServer((request, response) => {
    requests++;
    if (requests === 1) return;
    request.resume();
    request.on('end', () => {
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ accepted: [{ id: 'e1', source: 'test', offset: '1-0', duplicate: false }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = new RelayClient({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: 'test-token',
    timeoutMs: 200,
    maxAttempts: 10,
    backoff: { baseMs: 1, maxMs: 5 },
  });
  t.after(() => client.close({ abort: true }));
  const collecting = setInterval(gc, 20);
  t.after(() => clearInterval(collecting));

  const event = createEvent('com.qlik.web-integration.deleted', { source: 'test', id: 'e1', tenantid: 'acme', data: { id: 'wi-1' } });
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<'stuck'>((resolve) => {
    timer = setTimeout(() => resolve('stuck'), 10_000);
  });
  const outcome = await Promise.race([client.publish(event), stuck]);
  clearTimeout(timer);
  assert.notEqual(outcome, 'stuck', 'the first attempt timed out (200 ms) and a later one was stored, well within 10 s');
  assert.ok(requests >= 2, `the hung attempt was retried (${requests} requests)`);
});
