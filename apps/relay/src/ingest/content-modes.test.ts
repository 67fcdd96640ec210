import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, uniqueTenant } from '@tenantcast/testkit';
import { BATCH, createdEvent, eventsApi, expectAccepted, expectError, STRUCTURED } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// The CloudEvents HTTP binding's modes at POST /v1/events, end to end: what each stores, and the media types it refuses.

const stack = useRelay();
const { post, postStructured, postBatch, history, rawRequest } = eventsApi(stack);

describe('structured mode', () => {
  test('accepts application/cloudevents+json and stores the event as sent', async () => {
    const t = uniqueTenant('structured');
    const event = createdEvent(t, { name: 'Zürich €' });
    const [item] = await expectAccepted(await postStructured(event), 1);
    assert.deepEqual(item, { id: event.id, source: event.source, offset: item!.offset, duplicate: false });
    assert.deepEqual(await history(t), [{ offset: item!.offset, event }]);
  });

  for (const contentType of [
    'Application/CloudEvents+JSON; charset=UTF-8',
    'application/cloudevents+json; charset="utf-8"',
    'APPLICATION/CLOUDEVENTS+JSON;charset=utf-8',
    'application/cloudevents+json ; charset=UTF-8',
  ]) {
    test(`accepts the content type ${contentType}`, async () => {
      const t = uniqueTenant('ctype');
      const event = makeEvent(t, { data: { text: 'naïve café ☕' } });
      const [item] = await expectAccepted(await post(JSON.stringify(event), { 'content-type': contentType }), 1);
      assert.deepEqual(await history(t), [{ offset: item!.offset, event }]);
    });
  }

  test('refuses a JSON array with a message that points to batched mode', async () => {
    const t = uniqueTenant('structured-array');
    const error = await expectError(await post(JSON.stringify([makeEvent(t)]), { 'content-type': STRUCTURED }), 400, 'TC_ERR_VALIDATION');
    assert.match(error.message, /cloudevents-batch\+json/);
    assert.deepEqual(await history(t), []);
  });

  test('refuses a charset it cannot read with 415, and bytes that are not UTF-8 with 400', async () => {
    const t = uniqueTenant('charset');
    await expectError(
      await post(JSON.stringify(makeEvent(t)), { 'content-type': `${STRUCTURED}; charset=x-no-such-charset` }),
      415,
      'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    const bytes = Buffer.concat([Buffer.from(JSON.stringify(makeEvent(t, { data: 'x' })).slice(0, -2)), Buffer.from([0xff, 0x22, 0x7d])]);
    await expectError(await post(bytes, { 'content-type': STRUCTURED }), 400, 'TC_ERR_BAD_REQUEST');
    assert.deepEqual(await history(t), []);
  });
});

describe('batched mode', () => {
  test('accepts a batch and answers in request order', async () => {
    const t = uniqueTenant('batch');
    const events = [createdEvent(t), makeEvent(t, { source: '/other' }), makeEvent(t, { data: [1, 2, 3] })];
    const accepted = await expectAccepted(await postBatch(events), 3);
    assert.deepEqual(
      accepted.map(({ id, source, duplicate }) => ({ id, source, duplicate })),
      events.map((e) => ({ id: e.id, source: e.source, duplicate: false })),
    );
    assert.equal(new Set(accepted.map((a) => a.offset)).size, 3);
    const stored = await history(t);
    assert.deepEqual(
      stored,
      events.map((event, i) => ({ offset: accepted[i]!.offset, event })),
    );
  });

  test('accepts letter-case and charset variations of the batch media type', async () => {
    const t = uniqueTenant('batch-ctype');
    const events = [makeEvent(t), makeEvent(t)];
    await expectAccepted(await post(JSON.stringify(events), { 'content-type': 'Application/CloudEvents-Batch+JSON; charset="UTF-8"' }), 2);
    assert.equal((await history(t)).length, 2);
  });

  test('refuses a batch body that is not an array', async () => {
    const t = uniqueTenant('batch-object');
    await expectError(await post(JSON.stringify(makeEvent(t)), { 'content-type': BATCH }), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(await history(t), []);
  });
});

describe('binary mode', () => {
  function ceHeaders(t: string, id: string): Record<string, string> {
    return {
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-source': '/tests/binary',
      'ce-type': 'com.example.binary',
      'ce-tenantid': t,
    };
  }

  test('percent-decodes ce-* headers and takes a JSON body as data', async () => {
    const t = uniqueTenant('binary-json');
    const res = await post('{"city":"Zürich","n":[1,2]}', {
      ...ceHeaders(t, 'id%20with%20space%25'),
      'ce-source': '%2Fs%C3%BCd%2F%22quoted%22',
      'ce-subject': 'emoji%20%F0%9F%98%80%20%E2%82%AC',
      'ce-userid': 'user%40example.com',
      'content-type': 'application/json; charset=utf-8',
    });
    const [item] = await expectAccepted(res, 1);
    assert.equal(item!.id, 'id with space%');
    assert.equal(item!.source, '/süd/"quoted"');
    const [stored] = await history(t);
    assert.deepEqual(stored, {
      offset: item!.offset,
      event: {
        specversion: '1.0',
        id: 'id with space%',
        source: '/süd/"quoted"',
        type: 'com.example.binary',
        tenantid: t,
        subject: 'emoji 😀 €',
        userid: 'user@example.com',
        datacontenttype: 'application/json; charset=utf-8',
        data: { city: 'Zürich', n: [1, 2] },
      },
    });
  });

  test('takes a text/plain body as string data', async () => {
    const t = uniqueTenant('binary-text');
    await expectAccepted(await post('héllo wörld\nline 2', { ...ceHeaders(t, 'txt-1'), 'content-type': 'text/plain; charset=utf-8' }), 1);
    const [stored] = await history(t);
    assert.equal(stored!.event.data, 'héllo wörld\nline 2');
    assert.equal(stored!.event.datacontenttype, 'text/plain; charset=utf-8');
    assert.equal('data_base64' in stored!.event, false);
  });

  test('takes an application/octet-stream body as data_base64', async () => {
    const t = uniqueTenant('binary-octet');
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x41]);
    await expectAccepted(await post(bytes, { ...ceHeaders(t, 'bin-1'), 'content-type': 'application/octet-stream' }), 1);
    const [stored] = await history(t);
    assert.equal(stored!.event.data_base64, bytes.toString('base64'));
    assert.equal('data' in stored!.event, false);
    assert.deepEqual(Buffer.from(stored!.event.data_base64 as string, 'base64'), bytes);
    assert.equal(stored!.event.datacontenttype, 'application/octet-stream');
  });

  test('refuses a malformed percent-encoding with 400 TC_ERR_INVALID_HEADER', async () => {
    const t = uniqueTenant('binary-bad-pct');
    for (const id of ['bad%', 'bad%2', 'bad%zz', 'bad%C3', 'bad%FF']) {
      const error = await expectError(
        await post('{}', { ...ceHeaders(t, id), 'content-type': 'application/json' }),
        400,
        'TC_ERR_INVALID_HEADER',
      );
      assert.match(error.message, /ce-id/);
    }
    assert.deepEqual(await history(t), []);
  });

  test('refuses a ce-* header sent twice', async () => {
    const t = uniqueTenant('binary-twice');
    const body = '{"a":1}';
    // fetch folds repeated headers into one line; a raw request sends them as two field lines.
    const answer = await rawRequest(
      [
        'POST /v1/events HTTP/1.1',
        'Host: relay',
        `Authorization: Bearer ${stack.token}`,
        'Content-Type: application/json',
        'ce-specversion: 1.0',
        'ce-id: first',
        'ce-id: second',
        'ce-source: /tests/binary',
        'ce-type: com.example.binary',
        `ce-tenantid: ${t}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
      ],
      body,
    );
    const stored = await history(t);
    assert.equal(answer.status, 400, answer.body);
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'TC_ERR_INVALID_HEADER');
    assert.deepEqual(stored, []);
  });

  test('validates data of a known type from the body', async () => {
    const t = uniqueTenant('binary-known');
    const headers = { ...ceHeaders(t, 'wi-created'), 'ce-type': 'com.qlik.web-integration.created', 'content-type': 'application/json' };
    const error = await expectError(await post('{"id":"wi-1","name":"n"}', headers), 400, 'TC_ERR_VALIDATION');
    assert.ok(
      error.details?.some((d) => d.path === '/data/validOrigins'),
      JSON.stringify(error.details),
    );
    await expectAccepted(await post('{"id":"wi-1","name":"n","validOrigins":[]}', headers), 1);
  });
});

describe('application/json holding a whole CloudEvent', () => {
  test('is taken as structured mode when there is no ce-specversion header', async () => {
    const t = uniqueTenant('json-structured');
    const event = createdEvent(t);
    const [item] = await expectAccepted(await post(JSON.stringify(event), { 'content-type': 'application/json' }), 1);
    assert.deepEqual(await history(t), [{ offset: item!.offset, event }]);
  });

  test('is refused with 415 when the JSON is not a CloudEvent', async () => {
    await expectError(await post('{"hello":"world"}', { 'content-type': 'application/json' }), 415, 'TC_ERR_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('unsupported media types', () => {
  test('answers 415 for text/plain without ce-specversion', async () => {
    const t = uniqueTenant('text');
    const error = await expectError(
      await post(JSON.stringify(makeEvent(t)), { 'content-type': 'text/plain' }),
      415,
      'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    assert.match(error.message, /application\/cloudevents\+json/, 'the message says what to send');
    assert.deepEqual(await history(t), []);
  });

  test('answers 415 for a body without a content type', async () => {
    const t = uniqueTenant('no-ctype');
    // A Uint8Array body makes fetch send no Content-Type at all.
    await expectError(await post(Buffer.from(JSON.stringify(makeEvent(t))), {}), 415, 'TC_ERR_UNSUPPORTED_MEDIA_TYPE');
    assert.deepEqual(await history(t), []);
  });

  test('answers 415 for other media types', async () => {
    await expectError(await post('<event/>', { 'content-type': 'application/xml' }), 415, 'TC_ERR_UNSUPPORTED_MEDIA_TYPE');
    await expectError(await post('a=b', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'TC_ERR_UNSUPPORTED_MEDIA_TYPE');
  });
});
