import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, uniqueTenant } from '@tenantcast/testkit';
import { BATCH, eventsApi, expectAccepted, expectError, STRUCTURED } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// The request body limit of POST /v1/events (RELAY_BODY_LIMIT_BYTES).

const stack = useRelay();
const { post, postStructured, history } = eventsApi(stack);

describe('body size', () => {
  test('answers 413 past the 1 MiB default limit, and stores nothing', async () => {
    const t = uniqueTenant('too-large');
    // A valid batch that would be stored if the limit were not enforced.
    const events = Array.from({ length: 17 }, () => makeEvent(t, { data: 'x'.repeat(64 * 1024) }));
    const body = JSON.stringify(events);
    assert.ok(body.length > 1024 * 1024);
    const error = await expectError(await post(body, { 'content-type': BATCH }), 413, 'TC_ERR_PAYLOAD_TOO_LARGE');
    assert.match(error.message, /smaller/);
    assert.deepEqual(await history(t), []);
  });

  test('answers 413 for a chunked body past the limit, without Content-Length', async () => {
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 6) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${stack.relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': STRUCTURED },
      body,
      duplex: 'half',
    } as RequestInit);
    await expectError(res, 413, 'TC_ERR_PAYLOAD_TOO_LARGE');
  });

  test('accepts a single event of 64 KiB, and a request just under 1 MiB where RELAY_MAX_BATCH_BYTES allows it', async (t) => {
    const tenant = uniqueTenant('large');
    const big = makeEvent(tenant, { data: { blob: 'é'.repeat(32 * 1024) } });
    assert.ok(Buffer.byteLength(JSON.stringify(big)) >= 64 * 1024);
    const [item] = await expectAccepted(await postStructured(big), 1);
    assert.deepEqual(await history(tenant), [{ offset: item!.offset, event: big }]);

    // The default cap on one write (256 KiB) is below the body limit; raised, the body limit decides.
    const url = (await stack.startRelay(t, { maxBatchBytes: 1024 * 1024 })).url;
    const events = Array.from({ length: 15 }, () => makeEvent(tenant, { data: 'y'.repeat(64 * 1024) }));
    const body = JSON.stringify(events);
    assert.ok(body.length > 960 * 1024 && body.length < 1024 * 1024, String(body.length));
    await expectAccepted(await post(body, { 'content-type': BATCH }, { url }), 15);
    assert.equal((await history(tenant, url)).length, 15);
  });
});
