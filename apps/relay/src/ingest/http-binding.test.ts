import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { type ServerErrorCode, ServiceError } from '@tenantcast/server';
import fc from 'fast-check';
import { decodeHeaderValue, parseCloudEventsRequest, parseMediaType } from './http-binding.ts';

/** Asserts that `fn` throws a ServiceError with `code` and `status`, and a message that says something. */
function throwsRelayError(fn: () => unknown, code: ServerErrorCode, status: number): ServiceError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof ServiceError, `expected a ServiceError ${code}, got ${String(thrown)}`);
  assert.equal(thrown.code, code, thrown.message);
  assert.equal(thrown.status, status);
  assert.ok(thrown.message.length > 0);
  return thrown;
}

/**
 * Percent-encodes a header value as the CloudEvents HTTP binding (§3.1.3.2) tells senders to: the
 * UTF-8 bytes outside printable ASCII (0x21-0x7E), plus space, '"' and '%', become %XX; the rest stays.
 */
function encodeHeaderValue(value: string, lowerHex = false): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte >= 0x21 && byte <= 0x7e && byte !== 0x22 && byte !== 0x25) {
      out += String.fromCharCode(byte);
    } else {
      const hex = byte.toString(16).padStart(2, '0');
      out += `%${lowerHex ? hex : hex.toUpperCase()}`;
    }
  }
  return out;
}

const event = { specversion: '1.0', id: 'e-1', source: '/s', type: 'com.example.thing', tenantid: 'acme' };
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('parseMediaType', () => {
  test('is undefined for an absent or blank header', () => {
    assert.equal(parseMediaType(undefined), undefined);
    assert.equal(parseMediaType(''), undefined);
    assert.equal(parseMediaType('   '), undefined);
  });

  test('lower-cases the essence and parameter names, keeps parameter values', () => {
    assert.deepEqual(parseMediaType('Application/CloudEvents+JSON; Charset=UTF-8'), {
      essence: 'application/cloudevents+json',
      params: { charset: 'UTF-8' },
    });
  });

  test('unquotes quoted values and tolerates spacing', () => {
    assert.deepEqual(parseMediaType('  application/json ;  charset="utf-8" ; foo = bar '), {
      essence: 'application/json',
      params: { charset: 'utf-8', foo: 'bar' },
    });
  });

  test('reads a bare essence, and skips parameters without "="', () => {
    assert.deepEqual(parseMediaType('text/plain'), { essence: 'text/plain', params: {} });
    assert.deepEqual(parseMediaType('text/plain; flag; charset=utf-8'), { essence: 'text/plain', params: { charset: 'utf-8' } });
  });
});

describe('parseCloudEventsRequest', () => {
  describe('structured mode (§3.2)', () => {
    for (const contentType of [
      'application/cloudevents+json',
      'Application/CloudEvents+JSON; charset=UTF-8',
      'application/cloudevents+json; charset="utf-8"',
      'APPLICATION/CLOUDEVENTS+JSON;charset=utf-8',
    ]) {
      test(`reads one event from ${contentType}`, () => {
        const withData = { ...event, data: { city: 'Zürich €' } };
        assert.deepEqual(parseCloudEventsRequest({ 'content-type': contentType }, json(withData)), { events: [withData], batch: false });
      });
    }

    test('wins over ce-* headers, as the binding says', () => {
      const parsed = parseCloudEventsRequest(
        { 'content-type': 'application/cloudevents+json', 'ce-specversion': '1.0', 'ce-id': 'from-header' },
        json(event),
      );
      assert.deepEqual(parsed, { events: [event], batch: false });
    });

    test('refuses a body that is not one JSON object', () => {
      for (const body of ['[]', 'null', '"text"', '42']) {
        const error = throwsRelayError(
          () => parseCloudEventsRequest({ 'content-type': 'application/cloudevents+json' }, Buffer.from(body)),
          'TC_ERR_VALIDATION',
          400,
        );
        assert.match(error.message, /batch/, 'the message points to batched mode');
      }
    });

    test('refuses malformed JSON with TC_ERR_INVALID_JSON', () => {
      throwsRelayError(
        () => parseCloudEventsRequest({ 'content-type': 'application/cloudevents+json' }, Buffer.from('{"id": ')),
        'TC_ERR_INVALID_JSON',
        400,
      );
    });

    test('refuses a charset it cannot decode with 415, and bytes that are not UTF-8 with 400', () => {
      throwsRelayError(
        () => parseCloudEventsRequest({ 'content-type': 'application/cloudevents+json; charset=no-such-charset' }, json(event)),
        'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
        415,
      );
      throwsRelayError(
        () => parseCloudEventsRequest({ 'content-type': 'application/cloudevents+json' }, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
        'TC_ERR_BAD_REQUEST',
        400,
      );
    });
  });

  describe('batched mode (§3.3)', () => {
    test('reads an array of events and flags the batch', () => {
      const events = [event, { ...event, id: 'e-2' }];
      assert.deepEqual(parseCloudEventsRequest({ 'content-type': 'Application/CloudEvents-Batch+JSON; charset=utf-8' }, json(events)), {
        events,
        batch: true,
      });
    });

    test('refuses a body that is not an array', () => {
      throwsRelayError(
        () => parseCloudEventsRequest({ 'content-type': 'application/cloudevents-batch+json' }, json(event)),
        'TC_ERR_VALIDATION',
        400,
      );
    });

    test('refuses malformed JSON with TC_ERR_INVALID_JSON', () => {
      throwsRelayError(
        () => parseCloudEventsRequest({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from('[{"id":1},')),
        'TC_ERR_INVALID_JSON',
        400,
      );
    });
  });

  describe('binary mode (§3.1)', () => {
    const ceHeaders: IncomingHttpHeaders = {
      'ce-specversion': '1.0',
      'ce-id': 'id%20one',
      'ce-source': '%2Fs%C3%BCd',
      'ce-type': 'com.example.thing',
      'ce-tenantid': 'acme',
      'ce-subject': '%22quoted%22%20100%25%20%F0%9F%98%80',
      authorization: 'Bearer x',
    };

    test('takes attributes from percent-decoded ce-* headers and data from a JSON body', () => {
      const parsed = parseCloudEventsRequest(
        { ...ceHeaders, 'content-type': 'application/json; charset=utf-8' },
        Buffer.from('{"a":[1,"ü"]}'),
      );
      assert.deepEqual(parsed, {
        batch: false,
        events: [
          {
            specversion: '1.0',
            id: 'id one',
            source: '/süd',
            type: 'com.example.thing',
            tenantid: 'acme',
            subject: '"quoted" 100% 😀',
            datacontenttype: 'application/json; charset=utf-8',
            data: { a: [1, 'ü'] },
          },
        ],
      });
    });

    test('parses any +json media type as JSON data', () => {
      const parsed = parseCloudEventsRequest({ ...ceHeaders, 'content-type': 'application/vnd.example+json' }, Buffer.from('[true]'));
      assert.deepEqual((parsed.events[0] as Record<string, unknown>).data, [true]);
    });

    test('keeps a text body as a string, decoded in its charset', () => {
      const parsed = parseCloudEventsRequest({ ...ceHeaders, 'content-type': 'text/plain; charset=utf-8' }, Buffer.from('héllo wörld'));
      const e = parsed.events[0] as Record<string, unknown>;
      assert.equal(e.data, 'héllo wörld');
      assert.equal(e.datacontenttype, 'text/plain; charset=utf-8');
      assert.equal(e.data_base64, undefined);
    });

    test('carries any other body, or one without a Content-Type, as data_base64', () => {
      const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x41]);
      const octet = parseCloudEventsRequest({ ...ceHeaders, 'content-type': 'application/octet-stream' }, bytes).events[0] as Record<
        string,
        unknown
      >;
      assert.equal(octet.data_base64, bytes.toString('base64'));
      assert.equal(octet.data, undefined);
      assert.equal(octet.datacontenttype, 'application/octet-stream');
      const untyped = parseCloudEventsRequest(ceHeaders, bytes).events[0] as Record<string, unknown>;
      assert.equal(untyped.data_base64, bytes.toString('base64'));
      assert.equal('datacontenttype' in untyped, false);
    });

    test('sets no data for an empty body', () => {
      const e = parseCloudEventsRequest({ ...ceHeaders, 'content-type': 'application/json' }, Buffer.alloc(0)).events[0] as Record<
        string,
        unknown
      >;
      assert.equal('data' in e, false);
      assert.equal('data_base64' in e, false);
    });

    test('ignores headers that are not ce-*', () => {
      const e = parseCloudEventsRequest(ceHeaders, undefined).events[0] as Record<string, unknown>;
      assert.equal('authorization' in e, false);
      assert.equal(Object.keys(e).length, 6);
    });

    test('refuses a bad percent-encoding with TC_ERR_INVALID_HEADER', () => {
      const error = throwsRelayError(
        () => parseCloudEventsRequest({ ...ceHeaders, 'ce-id': 'bad%zz' }, undefined),
        'TC_ERR_INVALID_HEADER',
        400,
      );
      assert.match(error.message, /ce-id/);
    });

    test('refuses a ce-* header sent twice', () => {
      throwsRelayError(() => parseCloudEventsRequest({ ...ceHeaders, 'ce-id': ['a', 'b'] }, undefined), 'TC_ERR_INVALID_HEADER', 400);
    });

    test('refuses a JSON body that does not parse', () => {
      throwsRelayError(
        () => parseCloudEventsRequest({ ...ceHeaders, 'content-type': 'application/json' }, Buffer.from('{nope')),
        'TC_ERR_INVALID_JSON',
        400,
      );
    });
  });

  describe('application/json holding a whole CloudEvent', () => {
    test('is read as structured mode when there is no ce-specversion header', () => {
      assert.deepEqual(parseCloudEventsRequest({ 'content-type': 'application/json' }, json(event)), { events: [event], batch: false });
    });

    test('is binary mode when ce-specversion is present: the body is then data', () => {
      const parsed = parseCloudEventsRequest({ 'content-type': 'application/json', 'ce-specversion': '1.0' }, json(event));
      assert.deepEqual((parsed.events[0] as Record<string, unknown>).data, event);
    });

    test('is refused with 415 when the object has no specversion, unless legacyJson', () => {
      const legacy = { eventId: 'x', eventType: 't' };
      throwsRelayError(
        () => parseCloudEventsRequest({ 'content-type': 'application/json' }, json(legacy)),
        'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
        415,
      );
      assert.deepEqual(parseCloudEventsRequest({ 'content-type': 'application/json' }, json(legacy), { legacyJson: true }), {
        events: [legacy],
        batch: false,
      });
    });

    test('refuses malformed JSON with TC_ERR_INVALID_JSON', () => {
      throwsRelayError(
        () => parseCloudEventsRequest({ 'content-type': 'application/json' }, Buffer.from('{"specversion":')),
        'TC_ERR_INVALID_JSON',
        400,
      );
    });
  });

  test('answers 415 for a body in no CloudEvents mode', () => {
    const cases: Array<[IncomingHttpHeaders, string]> = [
      [{ 'content-type': 'text/plain' }, 'hello'],
      [{}, 'hello'],
      [{ 'content-type': 'application/xml' }, '<a/>'],
      [{ 'content-type': 'application/json' }, '[{"specversion":"1.0"}]'],
      [{ 'content-type': 'application/json' }, ''],
    ];
    for (const [headers, body] of cases) {
      const error = throwsRelayError(() => parseCloudEventsRequest(headers, Buffer.from(body)), 'TC_ERR_UNSUPPORTED_MEDIA_TYPE', 415);
      assert.match(error.message, /application\/cloudevents\+json/, 'the message says what to send');
    }
  });
});

describe('decodeHeaderValue', () => {
  test('decodes percent-encoded UTF-8 and leaves everything else literal', () => {
    assert.equal(decodeHeaderValue('ce-subject', 'caf%C3%A9%20%22x%22%2525'), 'café "x"%25');
    assert.equal(decodeHeaderValue('ce-subject', 'a+b/c?d=e&f#g'), 'a+b/c?d=e&f#g');
    assert.equal(decodeHeaderValue('ce-subject', '%e2%82%ac'), '€');
    assert.equal(decodeHeaderValue('ce-subject', ''), '');
  });

  test('inverts the binding encoding for any unicode string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.boolean(), (value, lowerHex) => {
        const encoded = encodeHeaderValue(value, lowerHex);
        assert.match(encoded, /^[\x21-\x7e]*$/, 'an encoded value is printable ASCII only');
        assert.equal(decodeHeaderValue('ce-id', encoded), value);
      }),
      { numRuns: 500 },
    );
  });

  test('refuses any malformed % sequence with TC_ERR_INVALID_HEADER (property)', () => {
    const hex = fc.constantFrom(...'0123456789abcdefABCDEF');
    // Printable ASCII that is neither a hex digit nor '%'.
    const notHex = fc.constantFrom(...'ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ!#$&()*+,-./:;<=>?@[]^_`{|}~');
    const encoded = fc.string({ unit: 'binary', maxLength: 10 }).map((s) => encodeHeaderValue(s));
    // Each case is malformed whatever follows it.
    const malformedThenAnything = fc.oneof(
      notHex.map((c) => `%${c}`),
      fc.tuple(hex, notHex).map(([h, c]) => `%${h}${c}`),
      fc.constantFrom('%80', '%BF', '%FF', '%FE', '%C0%AF', '%ED%A0%80', '%F4%90%80%80', '%C3z', '%E2%82z', '%F0%9F%98z'),
    );
    // These are malformed only at the end of the value.
    const malformedAtEnd = fc.oneof(
      fc.constant('%'),
      hex.map((h) => `%${h}`),
      fc.constantFrom('%C3', '%E2%82', '%F0%9F%98'),
    );
    const malformed = fc.oneof(
      fc.tuple(encoded, malformedThenAnything, encoded).map(([a, bad, b]) => a + bad + b),
      fc.tuple(encoded, malformedAtEnd).map(([a, bad]) => a + bad),
    );
    fc.assert(
      fc.property(malformed, (value) => {
        const error = throwsRelayError(() => decodeHeaderValue('ce-source', value), 'TC_ERR_INVALID_HEADER', 400);
        assert.match(error.message, /ce-source/, 'the message names the header');
      }),
      { numRuns: 500 },
    );
  });
});
