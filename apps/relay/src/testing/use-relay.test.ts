import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { useRelay } from './use-relay.ts';

describe('useRelay', () => {
  let closed: { relayUrl: string; redisUrl: string } | undefined;

  describe('a suite of its own', () => {
    const fixture = useRelay({ bodyLimit: 1024 * 1024 });
    test('starts Redis and a relay with the overrides', () => {
      assert.equal(fixture.relay.config.bodyLimit, 1024 * 1024);
      closed = { relayUrl: fixture.relay.url, redisUrl: fixture.redis.url };
    });
  });

  test('closes the relay and Redis after the suite', async () => {
    assert.ok(closed !== undefined);
    await assert.rejects(fetch(`${closed.relayUrl}/healthz`));
    const client = new Redis(closed.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    await assert.rejects(client.connect());
    client.disconnect();
  });
});
