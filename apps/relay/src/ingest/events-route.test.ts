import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk';
import { startRelay, useRelay } from '@tenantcast/testkit';

const OFFSET = /^\d+-\d+$/;
const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

const stack = useRelay();

/** A tenant id of the calling test's own. */
function tenant(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A valid CloudEvent of an unknown type (envelope validation only). */
function ev(tenantid: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { specversion: '1.0', id: randomUUID(), source: '/tests/events-route', type: 'com.example.thing.happened', tenantid, ...fields };
}

/** A valid `com.qlik.web-integration.created` event. */
function created(tenantid: string, data: Record<string, unknown> = {}): Record<string, unknown> {
  return ev(tenantid, {
    type: 'com.qlik.web-integration.created',
    datacontenttype: 'application/json',
    data: { id: 'wi-1', name: 'Api client 1', validOrigins: ['https://a.example'], ...data },
  });
}

interface Accepted {
  id: string;
  source: string;
  offset: string;
  duplicate: boolean;
}

async function post(
  body: string | Uint8Array,
  headers: Record<string, string>,
  options: { auth?: string | null; url?: string } = {},
): Promise<Response> {
  const auth = options.auth === undefined ? `Bearer ${stack.token}` : options.auth;
  return fetch(`${options.url ?? stack.relay.url}/v1/events`, {
    method: 'POST',
    headers: { ...(auth === null ? {} : { authorization: auth }), ...headers },
    body: body as BodyInit,
  });
}

const postStructured = (event: unknown, options?: { auth?: string | null; url?: string }) =>
  post(JSON.stringify(event), { 'content-type': STRUCTURED }, options);
const postBatch = (events: unknown[], options?: { auth?: string | null; url?: string }) =>
  post(JSON.stringify(events), { 'content-type': BATCH }, options);

/** Asserts a 202 and the answer's shape; returns the accepted items. */
async function expectAccepted(res: Response, count: number): Promise<Accepted[]> {
  const text = await res.text();
  assert.equal(res.status, 202, text);
  const body = JSON.parse(text) as { accepted: Accepted[] };
  assert.deepEqual(Object.keys(body), ['accepted']);
  assert.equal(body.accepted.length, count);
  for (const item of body.accepted) {
    assert.deepEqual(Object.keys(item).sort(), ['duplicate', 'id', 'offset', 'source']);
    assert.match(item.offset, OFFSET);
    assert.equal(typeof item.duplicate, 'boolean');
  }
  return body.accepted;
}

interface ErrorBody {
  code: string;
  message: string;
  details?: Array<{ index?: number; path: string; message: string }>;
}

/** Asserts an error answer: status, `{"error":{"code","message"}}` with a message to act on. */
async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as { error: ErrorBody };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code, text);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.trim().length > 0, 'the error message is not empty');
  return body.error;
}

/** A tenant's stored events, oldest first, through the history endpoint. */
async function history(tenantid: string, url = stack.relay.url): Promise<Array<{ offset: string; event: Record<string, unknown> }>> {
  const res = await fetch(`${url}/v1/tenants/${tenantid}/events?limit=1000`, { headers: { authorization: `Bearer ${stack.token}` } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text) as { events: Array<{ offset: string; event: Record<string, unknown> }>; next: string | null };
  assert.equal(body.next, null);
  return body.events;
}

/** Sends raw request lines and a body over a socket of its own; resolves with the status and body. */
function rawRequest(lines: string[], body: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(stack.relay.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`));
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: rest.join('\r\n\r\n') });
    });
  });
}

describe('structured mode', () => {
  test('accepts application/cloudevents+json and stores the event as sent', async () => {
    const t = tenant('structured');
    const event = created(t, { name: 'Zürich €' });
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
      const t = tenant('ctype');
      const event = ev(t, { data: { text: 'naïve café ☕' } });
      const [item] = await expectAccepted(await post(JSON.stringify(event), { 'content-type': contentType }), 1);
      assert.deepEqual(await history(t), [{ offset: item!.offset, event }]);
    });
  }

  test('refuses a JSON array with a message that points to batched mode', async () => {
    const t = tenant('structured-array');
    const error = await expectError(await post(JSON.stringify([ev(t)]), { 'content-type': STRUCTURED }), 400, 'TC_ERR_VALIDATION');
    assert.match(error.message, /cloudevents-batch\+json/);
    assert.deepEqual(await history(t), []);
  });

  test('refuses a charset it cannot read with 415, and bytes that are not UTF-8 with 400', async () => {
    const t = tenant('charset');
    await expectError(
      await post(JSON.stringify(ev(t)), { 'content-type': `${STRUCTURED}; charset=x-no-such-charset` }),
      415,
      'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    const bytes = Buffer.concat([Buffer.from(JSON.stringify(ev(t, { data: 'x' })).slice(0, -2)), Buffer.from([0xff, 0x22, 0x7d])]);
    await expectError(await post(bytes, { 'content-type': STRUCTURED }), 400, 'TC_ERR_BAD_REQUEST');
    assert.deepEqual(await history(t), []);
  });
});

describe('batched mode', () => {
  test('accepts a batch and answers in request order', async () => {
    const t = tenant('batch');
    const events = [created(t), ev(t, { source: '/other' }), ev(t, { data: [1, 2, 3] })];
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
    const t = tenant('batch-ctype');
    const events = [ev(t), ev(t)];
    await expectAccepted(await post(JSON.stringify(events), { 'content-type': 'Application/CloudEvents-Batch+JSON; charset="UTF-8"' }), 2);
    assert.equal((await history(t)).length, 2);
  });

  test('refuses a batch body that is not an array', async () => {
    const t = tenant('batch-object');
    await expectError(await post(JSON.stringify(ev(t)), { 'content-type': BATCH }), 400, 'TC_ERR_VALIDATION');
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
    const t = tenant('binary-json');
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
    const t = tenant('binary-text');
    await expectAccepted(await post('héllo wörld\nline 2', { ...ceHeaders(t, 'txt-1'), 'content-type': 'text/plain; charset=utf-8' }), 1);
    const [stored] = await history(t);
    assert.equal(stored!.event.data, 'héllo wörld\nline 2');
    assert.equal(stored!.event.datacontenttype, 'text/plain; charset=utf-8');
    assert.equal('data_base64' in stored!.event, false);
  });

  test('takes an application/octet-stream body as data_base64', async () => {
    const t = tenant('binary-octet');
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x41]);
    await expectAccepted(await post(bytes, { ...ceHeaders(t, 'bin-1'), 'content-type': 'application/octet-stream' }), 1);
    const [stored] = await history(t);
    assert.equal(stored!.event.data_base64, bytes.toString('base64'));
    assert.equal('data' in stored!.event, false);
    assert.deepEqual(Buffer.from(stored!.event.data_base64 as string, 'base64'), bytes);
    assert.equal(stored!.event.datacontenttype, 'application/octet-stream');
  });

  test('refuses a malformed percent-encoding with 400 TC_ERR_INVALID_HEADER', async () => {
    const t = tenant('binary-bad-pct');
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
    const t = tenant('binary-twice');
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
    const t = tenant('binary-known');
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
    const t = tenant('json-structured');
    const event = created(t);
    const [item] = await expectAccepted(await post(JSON.stringify(event), { 'content-type': 'application/json' }), 1);
    assert.deepEqual(await history(t), [{ offset: item!.offset, event }]);
  });

  test('is refused with 415 when the JSON is not a CloudEvent', async () => {
    await expectError(await post('{"hello":"world"}', { 'content-type': 'application/json' }), 415, 'TC_ERR_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('unsupported media types', () => {
  test('answers 415 for text/plain without ce-specversion', async () => {
    const t = tenant('text');
    const error = await expectError(
      await post(JSON.stringify(ev(t)), { 'content-type': 'text/plain' }),
      415,
      'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    assert.match(error.message, /application\/cloudevents\+json/, 'the message says what to send');
    assert.deepEqual(await history(t), []);
  });

  test('answers 415 for a body without a content type', async () => {
    const t = tenant('no-ctype');
    // A Uint8Array body makes fetch send no Content-Type at all.
    await expectError(await post(Buffer.from(JSON.stringify(ev(t))), {}), 415, 'TC_ERR_UNSUPPORTED_MEDIA_TYPE');
    assert.deepEqual(await history(t), []);
  });

  test('answers 415 for other media types', async () => {
    await expectError(await post('<event/>', { 'content-type': 'application/xml' }), 415, 'TC_ERR_UNSUPPORTED_MEDIA_TYPE');
    await expectError(await post('a=b', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'TC_ERR_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('dedupe by (source, id)', () => {
  test('flags a duplicate with the first copy offset and stores it once', async () => {
    const t = tenant('dup');
    const first = ev(t, { data: { copy: 1 } });
    const [one] = await expectAccepted(await postStructured(first), 1);
    const [two] = await expectAccepted(await postStructured({ ...first, data: { copy: 2 } }), 1);
    assert.deepEqual(two, { id: first.id, source: first.source, offset: one!.offset, duplicate: true });
    assert.deepEqual(await history(t), [{ offset: one!.offset, event: first }]);
  });

  test('flags a duplicate inside one batch, and one sent again in another mode', async () => {
    const t = tenant('dup-batch');
    const a = ev(t);
    const b = ev(t);
    const accepted = await expectAccepted(await postBatch([a, b, { ...a, data: 'again' }]), 3);
    assert.deepEqual(
      accepted.map((x) => x.duplicate),
      [false, false, true],
    );
    assert.equal(accepted[2]!.offset, accepted[0]!.offset);
    const headers = { 'ce-specversion': '1.0', 'ce-id': b.id as string, 'ce-source': b.source as string, 'ce-type': 'x', 'ce-tenantid': t };
    const [binary] = await expectAccepted(await post('"late"', { ...headers, 'content-type': 'application/json' }), 1);
    assert.deepEqual(binary, { id: b.id, source: b.source, offset: accepted[1]!.offset, duplicate: true });
    assert.deepEqual(await history(t), [
      { offset: accepted[0]!.offset, event: a },
      { offset: accepted[1]!.offset, event: b },
    ]);
  });

  test('does not take the same id from another source for a duplicate', async () => {
    const t = tenant('dup-source');
    const a = ev(t, { id: 'shared-id', source: '/source/a' });
    const b = ev(t, { id: 'shared-id', source: '/source/b' });
    const [one] = await expectAccepted(await postStructured(a), 1);
    const [two] = await expectAccepted(await postStructured(b), 1);
    assert.equal(two!.duplicate, false);
    assert.notEqual(two!.offset, one!.offset);
    assert.deepEqual(
      (await history(t)).map((e) => e.event),
      [a, b],
    );
  });

  test('does not take the same source and id in another tenant for a duplicate', async () => {
    const t1 = tenant('dup-tenant-a');
    const t2 = tenant('dup-tenant-b');
    const a = ev(t1, { id: 'same-id', source: '/same' });
    const b = { ...a, tenantid: t2 };
    const [one] = await expectAccepted(await postStructured(a), 1);
    const [two] = await expectAccepted(await postStructured(b), 1);
    assert.equal(one!.duplicate, false);
    assert.equal(two!.duplicate, false);
    assert.deepEqual(await history(t1), [{ offset: one!.offset, event: a }]);
    assert.deepEqual(await history(t2), [{ offset: two!.offset, event: b }]);
  });

  /**
   * Posts two events whose (source, id) differ and asserts that the second is not dropped as a
   * duplicate of the first. The CloudEvents type system forbids control characters and lone
   * surrogates in a String, so a 400 for either is right; accepting both is right too, if both are kept.
   */
  async function assertNotMerged(first: Record<string, string>, second: Record<string, string>): Promise<void> {
    const t = tenant('dup-collision');
    const one = await postStructured(ev(t, first));
    if (one.status === 400) return;
    await expectAccepted(one, 1);
    const two = await postStructured(ev(t, second));
    if (two.status === 400) return;
    const [item] = await expectAccepted(two, 1);
    assert.equal(item!.duplicate, false, `${JSON.stringify(second)} was taken for a duplicate of ${JSON.stringify(first)}`);
    assert.equal((await history(t)).length, 2);
  }

  test('does not merge ("a\\0b", "c") with ("a", "b\\0c")', () =>
    assertNotMerged({ source: 'a\u0000b', id: 'c' }, { source: 'a', id: 'b\u0000c' }));

  test('does not merge an id holding a lone surrogate with one holding U+FFFD', () =>
    assertNotMerged({ source: '/s', id: '\ud800' }, { source: '/s', id: '\ufffd' }));
});

describe('validation', () => {
  test('refuses a batch with one invalid event whole: 400 with details, nothing stored', async () => {
    const t = tenant('all-or-nothing');
    const { source: _, ...noSource } = ev(t);
    const events = [ev(t), noSource, created(t)];
    const error = await expectError(await postBatch(events), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(error.details, [{ index: 1, path: '/source', message: 'is required' }]);
    assert.match(error.message, /\/source/);
    assert.deepEqual(await history(t), []);
  });

  test('lists every invalid event of a batch with its index and path', async () => {
    const t = tenant('details');
    const events = [ev(t, { specversion: '0.3' }), ev(t), created(t, { validOrigins: 'https://a.example' })];
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
    const t = tenant('envelope');
    const cases: Array<[Record<string, unknown>, string]> = [
      [ev(t, { id: '' }), '/id'],
      [ev(t, { specversion: '2.0' }), '/specversion'],
      [ev(t, { tenantid: 'bad tenant{x}' }), '/tenantid'],
      [ev(t, { time: 'yesterday' }), '/time'],
      [ev(t, { Upper: 'x' }), '/Upper'],
      [ev(t, { nested: { a: 1 } }), '/nested'],
    ];
    for (const [event, path] of cases) {
      const error = await expectError(await postStructured(event), 400, 'TC_ERR_VALIDATION');
      assert.ok(
        error.details?.some((d) => d.path === path),
        `${path} in ${JSON.stringify(error.details)}`,
      );
      assert.ok(error.message.includes(path), `the message names ${path}: ${error.message}`);
    }
    const { tenantid: _, ...noTenant } = ev(t);
    const error = await expectError(await postStructured(noTenant), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(error.details, [{ path: '/tenantid', message: 'is required' }]);
    assert.deepEqual(await history(t), []);
  });

  test('checks the data of known types, with paths like /data/validOrigins', async () => {
    const t = tenant('known-data');
    const missing = await expectError(await postStructured(created(t, { validOrigins: undefined })), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(missing.details, [{ path: '/data/validOrigins', message: 'is required' }]);
    assert.match(missing.message, /\/data\/validOrigins/);

    const wrongType = await expectError(await postStructured(created(t, { validOrigins: 'https://a.example' })), 400, 'TC_ERR_VALIDATION');
    assert.ok(
      wrongType.details?.some((d) => d.path === '/data/validOrigins'),
      JSON.stringify(wrongType.details),
    );

    const updated = ev(t, { type: 'com.qlik.web-integration.updated', data: { id: 'wi-1', updates: [{ property: 'name', newValue: 7 }] } });
    const nested = await expectError(await postStructured(updated), 400, 'TC_ERR_VALIDATION');
    assert.ok(
      nested.details?.some((d) => d.path === '/data/updates/0/newValue'),
      JSON.stringify(nested.details),
    );

    const deleted = ev(t, { type: 'com.qlik.core.web-integration.deleted', data: {} });
    const newer = await expectError(await postStructured(deleted), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(newer.details, [{ path: '/data/id', message: 'is required' }]);
    assert.deepEqual(await history(t), []);
  });

  test('refuses malformed JSON with 400 TC_ERR_INVALID_JSON in every mode', async () => {
    const t = tenant('bad-json');
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
    const t1 = tenant('mixed-a');
    const t2 = tenant('mixed-b');
    const error = await expectError(await postBatch([ev(t1), ev(t1), ev(t2)]), 400, 'TC_ERR_MIXED_TENANTS');
    assert.deepEqual(error.details, [{ index: 2, path: '/tenantid', message: `is "${t2}", not "${t1}"` }]);
    assert.deepEqual(await history(t1), []);
    assert.deepEqual(await history(t2), []);
  });

  test('accepts an unknown type with envelope-only validation', async () => {
    const t = tenant('unknown-type');
    const event = ev(t, { type: 'com.example.never.registered', datacontenttype: 'text/csv', data: 'a,b\n1,2', custom: 42 });
    const [item] = await expectAccepted(await postStructured(event), 1);
    assert.deepEqual(await history(t), [{ offset: item!.offset, event }]);
  });

  test('refuses an unknown type when the relay runs with strictEventTypes', async (t) => {
    const strict = await startRelay(stack.redis.url, { strictEventTypes: true });
    t.after(() => strict.close());
    const tid = tenant('strict');
    const error = await expectError(await postStructured(ev(tid), { url: strict.url }), 400, 'TC_ERR_VALIDATION');
    assert.equal(error.details?.[0]?.path, '/type');
    assert.match(error.details?.[0]?.message ?? '', /unknown event type/);
    // Known types still pass on the strict relay.
    await expectAccepted(await postStructured(created(tid), { url: strict.url }), 1);
    assert.equal((await history(tid, strict.url)).length, 1);
  });

  test('answers 4xx, never 5xx, to deeply nested data, in a single event and in a batch', async () => {
    const t = tenant('deep');
    const depth = 100_000;
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const event = `{"specversion":"1.0","id":"deep","source":"/s","type":"com.example.deep","tenantid":"${t}","data":${deep}}`;
    for (const [body, contentType] of [
      [event, STRUCTURED],
      [`[${JSON.stringify(ev(t))},${event}]`, BATCH],
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

describe('body size', () => {
  test('answers 413 past the 1 MiB default limit, and stores nothing', async () => {
    const t = tenant('too-large');
    // A valid batch that would be stored if the limit were not enforced.
    const events = Array.from({ length: 17 }, () => ev(t, { data: 'x'.repeat(64 * 1024) }));
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

  test('accepts a single event of 64 KiB, and a request just under 1 MiB', async () => {
    const t = tenant('large');
    const big = ev(t, { data: { blob: 'é'.repeat(32 * 1024) } });
    assert.ok(Buffer.byteLength(JSON.stringify(big)) >= 64 * 1024);
    const [item] = await expectAccepted(await postStructured(big), 1);
    assert.deepEqual(await history(t), [{ offset: item!.offset, event: big }]);

    const events = Array.from({ length: 15 }, () => ev(t, { data: 'y'.repeat(64 * 1024) }));
    const body = JSON.stringify(events);
    assert.ok(body.length > 960 * 1024 && body.length < 1024 * 1024, String(body.length));
    await expectAccepted(await post(body, { 'content-type': BATCH }), 15);
    assert.equal((await history(t)).length, 16);
  });
});

describe('authentication and authorization', () => {
  async function expectUnauthorized(auth: string | null, code: string): Promise<void> {
    const t = tenant('unauth');
    const res = await postStructured(ev(t), { auth });
    const wwwAuthenticate = res.headers.get('www-authenticate');
    await expectError(res, 401, code);
    assert.match(wwwAuthenticate ?? '', /^Bearer /);
    assert.deepEqual(await history(t), []);
  }

  function b64url(value: unknown): string {
    return Buffer.from(JSON.stringify(value)).toString('base64url');
  }

  test('401 without a token', async () => {
    await expectUnauthorized(null, 'TC_ERR_UNAUTHORIZED');
  });

  test('401 for another scheme than Bearer', async () => {
    await expectUnauthorized(`Basic ${Buffer.from('user:pass').toString('base64')}`, 'TC_ERR_UNAUTHORIZED');
  });

  test('401 for a token that is not a JWT', async () => {
    await expectUnauthorized('Bearer not-a-jwt', 'TC_ERR_TOKEN_INVALID');
  });

  test('401 for an expired token', async () => {
    const expired = await mintToken({ sub: 'old', scope: 'publish', tenants: ['*'], expiresIn: -60 }, stack.relay.config.secret);
    await expectUnauthorized(`Bearer ${expired}`, 'TC_ERR_TOKEN_INVALID');
  });

  test('401 for a token signed with another secret', async () => {
    const forged = await mintToken({ sub: 'forger', scope: 'publish', tenants: ['*'] }, 'another-secret-0123456789');
    await expectUnauthorized(`Bearer ${forged}`, 'TC_ERR_TOKEN_INVALID');
  });

  test('401 for an alg:none token', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'x', scope: 'publish', tenants: ['*'] })}.`;
    await expectUnauthorized(`Bearer ${unsigned}`, 'TC_ERR_TOKEN_INVALID');
  });

  test('401 for a validly signed token without the tenants claim', async () => {
    const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'x', scope: 'publish' })}`;
    const signature = createHmac('sha256', stack.relay.config.secret).update(signingInput).digest('base64url');
    await expectUnauthorized(`Bearer ${signingInput}.${signature}`, 'TC_ERR_TOKEN_INVALID');
  });

  test('403 for a token without the publish scope', async () => {
    const t = tenant('no-publish');
    const subscribeOnly = await stack.relay.token({ scope: 'subscribe' });
    const error = await expectError(await postStructured(ev(t), { auth: `Bearer ${subscribeOnly}` }), 403, 'TC_ERR_FORBIDDEN_SCOPE');
    assert.match(error.message, /publish/);
    assert.deepEqual(await history(t), []);
  });

  test('403 for a tenant the token does not grant, 202 for one it grants', async () => {
    const granted = tenant('granted');
    const other = tenant('not-granted');
    const narrow = await stack.relay.token({ scope: 'publish', tenants: [granted] });
    const error = await expectError(await postStructured(ev(other), { auth: `Bearer ${narrow}` }), 403, 'TC_ERR_FORBIDDEN_TENANT');
    assert.match(error.message, new RegExp(other));
    await expectError(await postBatch([ev(other), ev(other)], { auth: `Bearer ${narrow}` }), 403, 'TC_ERR_FORBIDDEN_TENANT');
    assert.deepEqual(await history(other), []);
    await expectAccepted(await postStructured(ev(granted), { auth: `Bearer ${narrow}` }), 1);
    assert.equal((await history(granted)).length, 1);
  });
});

describe('rate limit', () => {
  test('429 with Retry-After for a tenant over its limit; other tenants unaffected; nothing of the refused request stored', async (t) => {
    const limited = await startRelay(stack.redis.url, { rateLimitTenants: { slow: 2 } });
    t.after(() => limited.close());
    const url = limited.url;
    const fast = tenant('fast');
    // The limit counts per second of Redis time: start right after a second begins, so that
    // the requests below fall in one second.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));

    const [first] = await expectAccepted(await postStructured(ev('slow'), { url }), 1);
    // One event left this second: a batch of two is refused whole.
    const refused = [ev('slow'), ev('slow')];
    const res = await postBatch(refused, { url });
    const retryAfter = res.headers.get('retry-after');
    const error = await expectError(res, 429, 'TC_ERR_RATE_LIMITED');
    assert.match(retryAfter ?? '', /^[1-9]\d*$/, `Retry-After is "${retryAfter}"`);
    assert.match(error.message, /slow/);
    // Another tenant of the same relay is not limited.
    await expectAccepted(await postBatch([ev(fast), ev(fast), ev(fast)], { url }), 3);
    // A batch larger than the limit could never pass: 413, asking for smaller batches (the SDK splits on 413).
    const tooBig = await expectError(await postBatch([ev('slow'), ev('slow'), ev('slow')], { url }), 413, 'TC_ERR_PAYLOAD_TOO_LARGE');
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

describe('Qlik catalog seeds', () => {
  // The three example payloads of ../shared/seeds/web-integration-events.txt, as Qlik documents them.
  const seeds = [
    `{
"id": "A234-1234-1234",
"time": "2026-01-01T12:00:00Z",
"type": "com.qlik.web-integration.created",
"source": "com.qlik/my-service",
"specversion": "1.0",
"datacontenttype": "application/json",
"userid": "UZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"tenantid": "VZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"data": {
"id": "id123",
"name": "Api client 1",
"validOrigins": [
"http://unicorn.com",
"http://foo.example"
]
}
}`,
    `{
"id": "A234-1234-1234",
"time": "2026-01-01T12:00:00Z",
"type": "com.qlik.web-integration.deleted",
"source": "com.qlik/my-service",
"specversion": "1.0",
"datacontenttype": "application/json",
"userid": "UZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"tenantid": "VZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"data": {
"id": "id123"
}
}`,
    `{
"id": "A234-1234-1234",
"time": "2026-01-01T12:00:00Z",
"type": "com.qlik.web-integration.updated",
"source": "com.qlik/my-service",
"specversion": "1.0",
"datacontenttype": "application/json",
"userid": "UZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"tenantid": "VZhiEfgW2bLd7HgR-jjzAh6VnicipweT",
"data": {
"id": "id123",
"updates": [
{
"newValue": "Web Integration 2",
"oldValue": "Web Integration 1",
"property": "name"
}
]
}
}`,
  ];

  test('each seed is accepted, with its data checked against its type', async (t) => {
    // A strict relay of its own: the seeds share one tenant, source and id, and every type must be known.
    const strict = await startRelay(stack.redis.url, { strictEventTypes: true });
    t.after(() => strict.close());
    for (const [i, seed] of seeds.entries()) {
      // Qlik posts application/json; structured mode must read it the same.
      const contentType = i === 0 ? 'application/json' : STRUCTURED;
      const [item] = await expectAccepted(await post(seed, { 'content-type': contentType }, { url: strict.url }), 1);
      assert.equal(item!.id, 'A234-1234-1234');
      assert.equal(item!.source, 'com.qlik/my-service');
      // The catalog's examples reuse one (source, id), so the later ones are duplicates of the first.
      assert.equal(item!.duplicate, i > 0);
      // Breaking the seed's data is refused: the acceptance above is not envelope-only.
      const broken = JSON.parse(seed) as { data: Record<string, unknown> };
      broken.data = {};
      const error = await expectError(await postStructured(broken, { url: strict.url }), 400, 'TC_ERR_VALIDATION');
      assert.ok(
        error.details?.some((d) => d.path.startsWith('/data/')),
        JSON.stringify(error.details),
      );
    }
    const [stored] = await history('VZhiEfgW2bLd7HgR-jjzAh6VnicipweT', strict.url);
    assert.deepEqual(stored?.event, JSON.parse(seeds[0]!));
  });
});
