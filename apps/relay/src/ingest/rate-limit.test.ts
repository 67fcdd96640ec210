import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, uniqueTenant } from '@tenantcast/testkit';
import { eventsApi, expectAccepted, expectError } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// The per-tenant rate limit of POST /v1/events (RATE_LIMIT_TENANTS).

const stack = useRelay();
const { postStructured, postBatch, history } = eventsApi(stack);

describe('rate limit', () => {
  test('429 with Retry-After for a tenant over its limit; other tenants unaffected; nothing of the refused request stored', async (t) => {
    const limited = await stack.startRelay(t, { rateLimitTenants: { slow: 2 } });
    const url = limited.url;
    const fast = uniqueTenant('fast');
    // The limit counts per second of Redis time: start right after a second begins, so that
    // the requests below fall in one second.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));

    const [first] = await expectAccepted(await postStructured(makeEvent('slow'), { url }), 1);
    // One event left this second: a batch of two is refused whole.
    const refused = [makeEvent('slow'), makeEvent('slow')];
    const res = await postBatch(refused, { url });
    const retryAfter = res.headers.get('retry-after');
    const error = await expectError(res, 429, 'TC_ERR_RATE_LIMITED');
    assert.match(retryAfter ?? '', /^[1-9]\d*$/, `Retry-After is "${retryAfter}"`);
    assert.match(error.message, /slow/);
    // Another tenant of the same relay is not limited.
    await expectAccepted(await postBatch([makeEvent(fast), makeEvent(fast), makeEvent(fast)], { url }), 3);
    // A batch larger than the limit could never pass: 413, asking for smaller batches (the SDK splits on 413).
    const tooBig = await expectError(
      await postBatch([makeEvent('slow'), makeEvent('slow'), makeEvent('slow')], { url }),
      413,
      'TC_ERR_BATCH_TOO_LARGE',
    );
    assert.match(tooBig.message, /batches of at most 2/);

    const stored = await history('slow', url);
    assert.deepEqual(
      stored.map((s) => s.offset),
      [first!.offset],
    );
    const refusedIds = new Set(refused.map((e) => e.id));
    assert.ok(!stored.some((s) => refusedIds.has(s.event.id as string)));
    assert.equal((await history(fast, url)).length, 3);
  });
});
