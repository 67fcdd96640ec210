import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '@tenantcast/testkit';
import pino from 'pino';
import { startRelay } from './testing/start-relay.ts';

// What the relay logs of a refused request names its path, never its query string: a token may
// ride in `?token=` (browsers cannot set headers on a WebSocket, so clients learn to put it there),
// and logs are kept, shipped and read long after a token is revoked (issue #16, finding 1).

const SECRET = 'query-token-that-must-not-be-logged';

test('a token in the query string appears in no log line, error or debug', async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  // Redis is not there: reads fail at once (no offline queue), and are logged as errors (503).
  const relay = await startRelay(`redis://127.0.0.1:${await freePort()}`, { logLevel: 'debug' }, { logger });
  t.after(() => relay.close());
  const token = await relay.token({ scope: 'subscribe' });

  const failed = await fetch(`${relay.url}/v1/tenants/acme/events?after=0&token=${SECRET}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(failed.status, 503, await failed.text());
  const refused = await fetch(`${relay.url}/v1/tenants/acme/events?token=${SECRET}`);
  assert.equal(refused.status, 401, await refused.text());
  const unknown = await fetch(`${relay.url}/v1/nowhere?token=${SECRET}`);
  assert.equal(unknown.status, 404, await unknown.text());

  const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; path?: string; code?: string });
  const errorLine = entries.find((e) => e.level >= 50 && e.path === '/v1/tenants/acme/events');
  assert.ok(errorLine !== undefined, `an error line for the 503 names the path: ${lines.join('')}`);
  assert.ok(
    entries.some((e) => e.code === 'TC_ERR_UNAUTHORIZED' && e.path === '/v1/tenants/acme/events'),
    `a debug line for the 401 names the path: ${lines.join('')}`,
  );
  assert.ok(
    entries.some((e) => e.code === 'TC_ERR_NOT_FOUND' && e.path === '/v1/nowhere'),
    `a debug line for the 404: ${lines.join('')}`,
  );
  assert.doesNotMatch(lines.join(''), new RegExp(SECRET));
});
