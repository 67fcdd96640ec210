import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useStack } from './stack.ts';

describe('useStack', () => {
  const stack = useStack({ gateway: { heartbeatMs: 5000 } });
  const early = (() => {
    try {
      return stack.relay;
    } catch (error) {
      return error as Error;
    }
  })();

  test('a part read before the before hook throws, naming the fixture and the part', () => {
    assert.ok(early instanceof Error);
    assert.match(early.message, /^useStack\(\): relay is not started/);
  });

  test('the gateway reads the relay’s streams, with its overrides', () => {
    assert.equal(stack.gateway.config.keyPrefix, stack.relay.config.keyPrefix);
    assert.equal(stack.gateway.config.heartbeatMs, 5000);
    assert.equal(stack.relay.config.redisUrl, stack.redis.redisUrl);
  });

  // Inside a describe, hooks run in turn: a later one can build on the parts.
  let narrow: string | undefined;
  before(async () => {
    narrow = await stack.relay.token({ scope: 'subscribe', tenants: ['one'] });
  });

  test('a later before hook of the describe sees the started parts', () => {
    assert.equal(typeof narrow, 'string');
  });

  test('the token reads any tenant', async () => {
    const res = await fetch(`${stack.relay.url}/v1/tenants/any-tenant/events`, { headers: { authorization: `Bearer ${stack.token}` } });
    assert.equal(res.status, 200);
  });
});
