import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type StatusDetail, type SubscribeOptions, type SubscriptionStatus, subscribe, TenantcastError } from '@tenantcast/sdk';
import { within } from '@tenantcast/testkit';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { assertRetriedAfter, PROMPTLY_MS, RETRIED_REFUSALS, refusalCases } from '../support/refusals.ts';
import { startRefusingFront } from '../support/refusing-front.ts';
import { startStack, useStack } from '../support/stack.ts';
import { ending, reader } from '../support/subscriptions.ts';

// The SDK's subscribe() refused by a real gateway, in Node (`ws`, which hands over the upgrade's
// answer): it ends at once with the gateway's own code and message, and retries only what may pass.
// The same in Chromium is in browser-refusals.test.ts.

type Ticks = { 'com.example.tick': { n: number } };

const stack = useStack();

/** A subscription through the shared gateway, recording its statuses, closed when the test ends. */
function open(
  t: Parameters<typeof onEnd>[0],
  options: Partial<SubscribeOptions<Ticks>> & Pick<SubscribeOptions<Ticks>, 'token' | 'tenantid'>,
) {
  const statuses: Array<{ state: SubscriptionStatus } & StatusDetail> = [];
  const sub = subscribe<Ticks>({
    url: stack.gateway.wsUrl,
    backoff: { baseMs: 10, maxMs: 50 },
    onStatus: (state, detail) => statuses.push({ state, ...detail }),
    ...options,
  });
  onEnd(t, () => sub.close());
  return { sub, statuses };
}

/** Waits for `ready` to reject; returns the error and how long it took from `started`. */
async function refused(ready: Promise<void>, started: number): Promise<{ error: TenantcastError; ms: number }> {
  const error = await within(
    ready.then(
      () => assert.fail('ready resolved; the subscription should have been refused'),
      (e: unknown) => e,
    ),
    'ready to reject',
  );
  assert.ok(error instanceof TenantcastError, `a TenantcastError, got ${error}`);
  return { error, ms: Date.now() - started };
}

describe('subscribe() refused by the gateway, in Node', () => {
  const cases = refusalCases((options) => stack.relay.token(options));
  for (const { name, status, code, message, options } of cases) {
    test(`${name}: ready rejects promptly with ${code} and the gateway's message, and the iteration ends with it`, async (t) => {
      const tenant = await seededTenant(stack.relay, 'refused');
      const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
      const given = await options();
      const started = Date.now();
      const { sub, statuses } = open(t, { token, tenantid: tenant, ...given });
      const { error, ms } = await refused(sub.ready, started);
      assert.equal(error.code, code, error.message);
      assert.equal(error.status, status, 'the HTTP status of a refused upgrade; none for a refused subscribe message');
      assert.match(error.message, message);
      assert.ok(ms < PROMPTLY_MS, `refused after ${ms} ms`);
      assert.equal(await ending(sub), error);
      assert.equal(sub.status, 'closed');
      assert.deepEqual(
        statuses.map((s) => s.state),
        ['closed'],
        'no reconnect',
      );
    });
  }

  for (const [status, code] of RETRIED_REFUSALS) {
    test(`an upgrade refused with ${status} and Retry-After is retried after it, then subscribes`, async (t) => {
      const front = await startRefusingFront(t, stack.gateway.url);
      front.refuse(1, status, code, 1);
      const tenant = await seededTenant(stack.relay, 'retried');
      const { sub, statuses } = open(t, {
        url: `ws://127.0.0.1:${front.port}`,
        token: await stack.relay.token({ scope: 'subscribe', tenants: [tenant] }),
        tenantid: tenant,
      });
      await within(sub.ready, 'ready');
      assert.equal(front.refused, 1);
      assertRetriedAfter(statuses, status);
      const stored = await publishOffsets(stack.relay, tenant, ticks(2));
      assert.deepEqual(
        (await reader(sub).take(2)).map((e) => e.relayoffset),
        stored,
      );
    });
  }
});

describe('subscribe() when Redis loses data under it, in Node', () => {
  test('it ends with TC_ERR_OFFSET_AHEAD; subscribing again with after: "0" gets what the stream holds now', async (t) => {
    const own = await startStack({ redis: { kind: 'single' } });
    onEnd(t, () => own.close());
    const tenant = await seededTenant(own.relay, 'lost');
    const token = await own.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const sub = subscribe<Ticks>({ url: own.gateway.wsUrl, token, tenantid: tenant, backoff: { baseMs: 10, maxMs: 50 } });
    onEnd(t, () => sub.close());
    await within(sub.ready, 'ready');
    const events = reader(sub);
    const before = await publishOffsets(own.relay, tenant, ticks(2));
    assert.deepEqual(
      (await events.take(2)).map((e) => e.relayoffset),
      before,
    );

    const server = own.redis.server;
    assert.ok(server !== undefined);
    await server.kill();
    await server.restart();
    const error = await within(ending(sub), 'the iteration to end', 20_000);
    assert.ok(error instanceof TenantcastError, `ends with a TenantcastError, got ${error}`);
    assert.equal(error.code, 'TC_ERR_OFFSET_AHEAD');
    assert.equal(sub.offset, before[1], 'its offset is the last event it got');

    // The documented restart: reconcile, then from 0 (or live, without after).
    const again = subscribe<Ticks>({ url: own.gateway.wsUrl, token, tenantid: tenant, after: '0', backoff: { baseMs: 10, maxMs: 50 } });
    onEnd(t, () => again.close());
    await within(again.ready, 'ready again', 15_000);
    const after = await publishOffsets(own.relay, tenant, ticks(2, 2));
    assert.deepEqual(
      (await reader(again).take(2)).map((e) => e.relayoffset),
      after,
    );
  });
});
