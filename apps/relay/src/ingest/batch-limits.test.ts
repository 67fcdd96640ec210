import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, scrapeMetric, uniqueTenant } from '@tenantcast/testkit';
import { BATCH, eventsApi, expectAccepted, expectError } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// What one tenant may write at once, with the relay's defaults (issue #16, finding 4): batches of at
// most RELAY_MAX_BATCH_EVENTS (500) events and RELAY_MAX_BATCH_BYTES (256 KiB) of JSON, at most
// RATE_LIMIT_EVENTS_PER_SECOND (2,000) events a second, one full batch at once. Each refusal is a
// 4xx that names the limit, stores nothing, and is counted in the rejection metric by its code.

const stack = useRelay();
const { post, postStructured, postBatch, history } = eventsApi(stack);

const rejected = (code: string) =>
  scrapeMetric(stack.relay.metricsUrl, 'tenantcast_relay_requests_rejected_total', { code }).then((v) => v ?? 0);

describe('batch and rate limits (defaults)', () => {
  test('a batch of more than 500 events is refused with 413 naming the cap, and nothing of it is stored; 500 pass', async () => {
    const tenant = uniqueTenant('many');
    const before = await rejected('TC_ERR_BATCH_TOO_LARGE');
    const error = await expectError(await postBatch(Array.from({ length: 501 }, () => makeEvent(tenant))), 413, 'TC_ERR_BATCH_TOO_LARGE');
    assert.match(error.message, /501 events .* limit of 500 events per batch \(RELAY_MAX_BATCH_EVENTS\); send batches of at most 500/);
    assert.deepEqual(await history(tenant), []);
    assert.equal(await rejected('TC_ERR_BATCH_TOO_LARGE'), before + 1);
    await expectAccepted(await postBatch(Array.from({ length: 500 }, () => makeEvent(tenant))), 500);
  });

  test('a batch, or one event, of more than 256 KiB of JSON is refused with 413 naming RELAY_MAX_BATCH_BYTES; nothing stored', async () => {
    const tenant = uniqueTenant('bytes');
    // Five events of 60 KiB: 300 KiB, under the 1 MiB body limit.
    const batch = Array.from({ length: 5 }, () => makeEvent(tenant, { data: 'x'.repeat(60 * 1024) }));
    const error = await expectError(await post(JSON.stringify(batch), { 'content-type': BATCH }), 413, 'TC_ERR_BATCH_TOO_LARGE');
    assert.match(error.message, /limit of 262144 bytes per write \(RELAY_MAX_BATCH_BYTES\); send smaller batches/);
    const single = await expectError(
      await postStructured(makeEvent(tenant, { data: 'x'.repeat(300 * 1024) })),
      413,
      'TC_ERR_BATCH_TOO_LARGE',
    );
    assert.match(single.message, /The event is \d+ bytes .*send a smaller event/);
    assert.deepEqual(await history(tenant), []);
    // Four of them fit.
    await expectAccepted(await post(JSON.stringify(batch.slice(0, 4)), { 'content-type': BATCH }), 4);
  });

  test('full batches sent at once: one passes, the others get 429 with Retry-After and store nothing; another tenant is unaffected', async () => {
    const noisy = uniqueTenant('noisy');
    const quiet = uniqueTenant('quiet');
    const before = await rejected('TC_ERR_RATE_LIMITED');
    const batches = Array.from({ length: 5 }, () => Array.from({ length: 500 }, () => makeEvent(noisy)));
    // A tenant sends at most one full batch at once, then 500 events each 250 ms: five batches sent
    // together cannot all pass, however slow the machine (they would need a second).
    const answers = await Promise.all(batches.map((b) => postBatch(b)));
    const passed = answers.filter((r) => r.status === 202);
    const refused = answers.filter((r) => r.status === 429);
    assert.ok(passed.length >= 1 && refused.length >= 1, `statuses ${answers.map((r) => r.status)}`);
    assert.equal(passed.length + refused.length, 5);
    for (const r of refused) {
      assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      const error = await expectError(r, 429, 'TC_ERR_RATE_LIMITED');
      assert.match(error.message, new RegExp(`"${noisy}" is over its rate limit of 2000 events per second`));
    }
    for (const r of passed) await r.body?.cancel();
    assert.equal((await history(noisy)).length, passed.length * 500);
    assert.equal(await rejected('TC_ERR_RATE_LIMITED'), before + refused.length);
    // Another tenant's full batch passes at once.
    await expectAccepted(await postBatch(Array.from({ length: 500 }, () => makeEvent(quiet))), 500);
  });
});
