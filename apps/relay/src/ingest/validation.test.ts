import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, uniqueTenant } from '@tenantcast/testkit';
import { BATCH, createdEvent, type ErrorBody, eventsApi, expectAccepted, expectError, STRUCTURED } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// Validation at POST /v1/events: envelopes, known types' data, tenants of a batch; all or nothing, with JSON paths.

const stack = useRelay();
const { post, postStructured, postBatch, history } = eventsApi(stack);

describe('validation', () => {
  test('refuses a batch with one invalid event whole: 400 with details, nothing stored', async () => {
    const t = uniqueTenant('all-or-nothing');
    const { source: _, ...noSource } = makeEvent(t);
    const events = [makeEvent(t), noSource, createdEvent(t)];
    const error = await expectError(await postBatch(events), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(error.details, [{ index: 1, path: '/source', message: 'is required' }]);
    assert.match(error.message, /\/source/);
    assert.deepEqual(await history(t), []);
  });

  test('lists every invalid event of a batch with its index and path', async () => {
    const t = uniqueTenant('details');
    const events = [makeEvent(t, { specversion: '0.3' }), makeEvent(t), createdEvent(t, { validOrigins: 'https://a.example' })];
    const error = await expectError(await postBatch(events), 400, 'TC_ERR_VALIDATION');
    for (const detail of error.details ?? []) {
      assert.deepEqual(Object.keys(detail).sort(), ['index', 'message', 'path']);
      assert.ok(detail.message.length > 0);
    }
    assert.ok(
      error.details?.some((d) => d.index === 0 && d.path === '/specversion'),
      JSON.stringify(error.details),
    );
    assert.ok(
      error.details?.some((d) => d.index === 2 && d.path === '/data/validOrigins'),
      JSON.stringify(error.details),
    );
    assert.ok(!error.details?.some((d) => d.index === 1));
    assert.deepEqual(await history(t), []);
  });

  test('points at the envelope attribute to fix', async () => {
    const t = uniqueTenant('envelope');
    const cases: Array<[Record<string, unknown>, string]> = [
      [makeEvent(t, { id: '' }), '/id'],
      [makeEvent(t, { specversion: '2.0' }), '/specversion'],
      [makeEvent(t, { tenantid: 'bad tenant{x}' }), '/tenantid'],
      [makeEvent(t, { time: 'yesterday' }), '/time'],
      [makeEvent(t, { Upper: 'x' }), '/Upper'],
      [makeEvent(t, { nested: { a: 1 } }), '/nested'],
    ];
    for (const [event, path] of cases) {
      const error = await expectError(await postStructured(event), 400, 'TC_ERR_VALIDATION');
      assert.ok(
        error.details?.some((d) => d.path === path),
        `${path} in ${JSON.stringify(error.details)}`,
      );
      assert.ok(error.message.includes(path), `the message names ${path}: ${error.message}`);
    }
    const { tenantid: _, ...noTenant } = makeEvent(t);
    const error = await expectError(await postStructured(noTenant), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(error.details, [{ path: '/tenantid', message: 'is required' }]);
    assert.deepEqual(await history(t), []);
  });

  test('checks the data of known types, with paths like /data/validOrigins', async () => {
    const t = uniqueTenant('known-data');
    const missing = await expectError(await postStructured(createdEvent(t, { validOrigins: undefined })), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(missing.details, [{ path: '/data/validOrigins', message: 'is required' }]);
    assert.match(missing.message, /\/data\/validOrigins/);

    const wrongType = await expectError(
      await postStructured(createdEvent(t, { validOrigins: 'https://a.example' })),
      400,
      'TC_ERR_VALIDATION',
    );
    assert.ok(
      wrongType.details?.some((d) => d.path === '/data/validOrigins'),
      JSON.stringify(wrongType.details),
    );

    const updated = makeEvent(t, {
      type: 'com.qlik.web-integration.updated',
      data: { id: 'wi-1', updates: [{ property: 'name', newValue: 7 }] },
    });
    const nested = await expectError(await postStructured(updated), 400, 'TC_ERR_VALIDATION');
    assert.ok(
      nested.details?.some((d) => d.path === '/data/updates/0/newValue'),
      JSON.stringify(nested.details),
    );

    const deleted = makeEvent(t, { type: 'com.qlik.core.web-integration.deleted', data: {} });
    const newer = await expectError(await postStructured(deleted), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(newer.details, [{ path: '/data/id', message: 'is required' }]);
    assert.deepEqual(await history(t), []);
  });

  test('refuses malformed JSON with 400 TC_ERR_INVALID_JSON in every mode', async () => {
    const t = uniqueTenant('bad-json');
    await expectError(await post('{"specversion": "1.0",', { 'content-type': STRUCTURED }), 400, 'TC_ERR_INVALID_JSON');
    await expectError(await post('[{"specversion": "1.0"}', { 'content-type': BATCH }), 400, 'TC_ERR_INVALID_JSON');
    await expectError(await post('{nope', { 'content-type': 'application/json' }), 400, 'TC_ERR_INVALID_JSON');
    const headers = {
      'ce-specversion': '1.0',
      'ce-id': 'x',
      'ce-source': '/s',
      'ce-type': 't',
      'ce-tenantid': t,
      'content-type': 'application/json',
    };
    await expectError(await post('{"data": ', headers), 400, 'TC_ERR_INVALID_JSON');
    assert.deepEqual(await history(t), []);
  });

  test('refuses a batch that mixes tenants with 400 TC_ERR_MIXED_TENANTS, nothing stored', async () => {
    const t1 = uniqueTenant('mixed-a');
    const t2 = uniqueTenant('mixed-b');
    const error = await expectError(await postBatch([makeEvent(t1), makeEvent(t1), makeEvent(t2)]), 400, 'TC_ERR_MIXED_TENANTS');
    assert.deepEqual(error.details, [{ index: 2, path: '/tenantid', message: `is "${t2}", not "${t1}"` }]);
    assert.deepEqual(await history(t1), []);
    assert.deepEqual(await history(t2), []);
  });

  test('refuses com.tenantcast. types, the relay’s own events, so that no publisher can forge one', async () => {
    const t = uniqueTenant('reserved');
    const forged = makeEvent(t, { type: 'com.tenantcast.webhook.endpoint.disabled', data: { endpointId: 'wh_x', reason: 'manual' } });
    const error = await expectError(await postBatch([makeEvent(t), forged]), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(error.details, [
      { index: 1, path: '/type', message: '"com.tenantcast.webhook.endpoint.disabled" is a reserved type' },
    ]);
    assert.match(error.message, /com\.tenantcast\./);
    await expectError(await postStructured(makeEvent(t, { type: 'com.tenantcast.anything' })), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(await history(t), []);
  });

  test('accepts an unknown type with envelope-only validation', async () => {
    const t = uniqueTenant('unknown-type');
    const event = makeEvent(t, { type: 'com.example.never.registered', datacontenttype: 'text/csv', data: 'a,b\n1,2', custom: 42 });
    const [item] = await expectAccepted(await postStructured(event), 1);
    assert.deepEqual(await history(t), [{ offset: item!.offset, event }]);
  });

  test('refuses an unknown type when the relay runs with strictEventTypes', async (t) => {
    const strict = await stack.startRelay(t, { strictEventTypes: true });
    const tid = uniqueTenant('strict');
    const error = await expectError(await postStructured(makeEvent(tid), { url: strict.url }), 400, 'TC_ERR_VALIDATION');
    assert.equal(error.details?.[0]?.path, '/type');
    assert.match(error.details?.[0]?.message ?? '', /unknown event type/);
    // Known types still pass on the strict relay.
    await expectAccepted(await postStructured(createdEvent(tid), { url: strict.url }), 1);
    assert.equal((await history(tid, strict.url)).length, 1);
  });

  test('answers 4xx, never 5xx, to deeply nested data, in a single event and in a batch', async () => {
    const t = uniqueTenant('deep');
    const depth = 100_000;
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const event = `{"specversion":"1.0","id":"deep","source":"/s","type":"com.example.deep","tenantid":"${t}","data":${deep}}`;
    for (const [body, contentType] of [
      [event, STRUCTURED],
      [`[${JSON.stringify(makeEvent(t))},${event}]`, BATCH],
    ] as const) {
      const res = await post(body, { 'content-type': contentType });
      const text = await res.text();
      assert.ok(res.status >= 400 && res.status < 500, `answered ${res.status}: ${text}`);
      const error = (JSON.parse(text) as { error: ErrorBody }).error;
      assert.ok(error.code.startsWith('TC_ERR_') && error.message.trim().length > 0, text);
    }
    assert.deepEqual(await history(t), []);
  });
});
