import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exceedsDepth, MAX_JSON_DEPTH } from '@tenantcast/sdk';
import { useRelay } from '../testing/use-relay.ts';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

test('exceedsDepth counts object and array levels', () => {
  assert.equal(exceedsDepth(1), false);
  assert.equal(exceedsDepth(nested(MAX_JSON_DEPTH)), false);
  assert.equal(exceedsDepth(nested(MAX_JSON_DEPTH + 1)), true);
  assert.equal(exceedsDepth({ a: [1, 2, { b: null }] }, 3), false);
  assert.equal(exceedsDepth({ a: [1, 2, { b: {} }] }, 3), true);
});

const stack = useRelay();

test('hostile nesting (deeper than the stack) gets a 400, not a 500, and nothing is stored', async () => {
  const depth = 300_000;
  const body = `{"specversion":"1.0","id":"deep","source":"s","type":"t","tenantid":"deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const token = await stack.relay.token({});
  const res = await fetch(`${stack.relay.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
    body,
  });
  assert.equal(res.status, 400);
  const error = ((await res.json()) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'TC_ERR_VALIDATION');
  assert.match(error.message, /at most 64 levels/);
  const history = await fetch(`${stack.relay.url}/v1/tenants/deep/events`, { headers: { authorization: `Bearer ${token}` } });
  assert.deepEqual(await history.json(), { events: [], next: null });
  assert.equal((await fetch(`${stack.relay.url}/healthz`)).status, 200);
});
