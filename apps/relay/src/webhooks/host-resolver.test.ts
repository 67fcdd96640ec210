import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uniqueTenant, until } from '@tenantcast/testkit';
import { startDnsServer } from '../testing/dns-server.ts';
import { publishDrafts } from '../testing/publish-drafts.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { startReceiver } from '../testing/webhook-receiver.ts';
import { HostNotResolved, HostResolver } from './host-resolver.ts';

// Webhook host names are resolved by DNS queries with a timeout, off libuv's thread pool
// (issue #16, finding 2): names that resolve slowly cost their own deliveries, not everyone's.

describe('HostResolver', () => {
  test('resolves through the configured server, caches the answer, shares concurrent queries, and times out on a silent server', async (t) => {
    const dns = await startDnsServer({ 'hooks.example.test': ['93.184.216.34'] }, /^silent\./);
    t.after(() => dns.close());
    const resolver = new HostResolver({ servers: [dns.address], timeoutMs: 300 });

    const [first, second] = await Promise.all([resolver.resolve('hooks.example.test'), resolver.resolve('HOOKS.example.test')]);
    assert.deepEqual(first, [{ address: '93.184.216.34', family: 4 }]);
    assert.deepEqual(second, first);
    await resolver.resolve('hooks.example.test');
    // One A and one AAAA query: the concurrent and the later call were answered from them.
    assert.equal(dns.queries.get('hooks.example.test'), 2);

    await assert.rejects(resolver.resolve('nowhere.example.test'), HostNotResolved);
    await assert.rejects(resolver.resolve('silent.example.test'), HostNotResolved);
  });
});

describe('a relay whose tenant has endpoints on names DNS never answers', () => {
  test('delivers another tenant’s events on a name that resolves, while those lookups hang', async (t) => {
    const dns = await startDnsServer({ 'fast.tenantcast.test': ['127.0.0.1'] }, /^slow-/);
    t.after(() => dns.close());
    const receiver = await startReceiver(() => ({ status: 204 }));
    t.after(() => receiver.close());
    const { relay, close } = await startRelayWithRedis({
      webhookAllowPrivate: true,
      webhookDnsServers: [dns.address],
      webhookDnsTimeoutMs: 3000,
      webhookRetrySchedule: [60_000],
    });
    t.after(close);
    const port = new URL(receiver.url).port;
    const register = async (tenant: string, url: string) => {
      const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await relay.token({ scope: 'admin', tenants: [tenant] })}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ url }),
      });
      assert.equal(res.status, 201, await res.clone().text());
    };

    // Tenant A: 41 endpoints on names that never resolve, 10 events: 410 lookups that hang for seconds.
    const a = uniqueTenant('slow-dns');
    for (let i = 0; i < 41; i++) await register(a, `http://slow-${i}.tenantcast.test:${port}/a`);
    await publishDrafts(
      relay,
      a,
      Array.from({ length: 10 }, () => ({ type: 'com.example.slow' })),
      'dns-test',
    );
    await until(() => [...dns.queries.keys()].filter((name) => name.startsWith('slow-')).length >= 8, 'A’s lookups to start');

    // Tenant B, meanwhile: its one endpoint's name resolves, and its event arrives while A's lookups hang.
    const b = uniqueTenant('fast-dns');
    await register(b, `http://fast.tenantcast.test:${port}/b`);
    const [event] = await publishDrafts(relay, b, [{ type: 'com.example.fast' }], 'dns-test');
    await until(() => receiver.hits.some((hit) => hit.body.includes(event!.id)), 'B’s delivery', 2500);
    assert.ok(
      receiver.hits.every((hit) => hit.body.includes(b)),
      'nothing reached A’s endpoints',
    );
  });
});
