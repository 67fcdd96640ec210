import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Type from 'typebox';
import { createEvent } from './create-event.ts';
import { TenantcastError } from './errors.ts';
import { createRegistry } from './registry.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** RFC 3339 §5.6 date-time, with the upper-case T and Z that producers send. */
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

const fields = { source: 'com.example/admin', tenantid: 'acme', data: { id: 'wi-1' } };

function isValidationError(paths: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof TenantcastError, `expected a TenantcastError, got ${String(error)}`);
    assert.equal(error.code, 'TC_ERR_VALIDATION');
    for (const path of paths) {
      assert.ok(
        error.details.some((d) => d.path === path),
        `expected an issue at ${path}, got ${JSON.stringify(error.details)}`,
      );
      assert.ok(error.message.includes(path), error.message);
    }
    return true;
  };
}

describe('createEvent', () => {
  test('fills in a UUID id, an RFC 3339 time of now and specversion 1.0', () => {
    const before = Date.now();
    const event = createEvent('com.qlik.web-integration.deleted', fields);
    const after = Date.now();
    assert.match(event.id, UUID_RE);
    assert.equal(event.specversion, '1.0');
    assert.equal(event.type, 'com.qlik.web-integration.deleted');
    assert.ok(event.time !== undefined);
    assert.match(event.time, RFC3339_RE);
    const at = Date.parse(event.time);
    assert.ok(at >= before && at <= after, `time ${event.time} is not between ${before} and ${after}`);
    assert.equal(event.source, fields.source);
    assert.equal(event.tenantid, fields.tenantid);
    assert.deepEqual(event.data, fields.data);
  });

  test('every event gets an id of its own', () => {
    const ids = new Set(Array.from({ length: 50 }, () => createEvent('com.qlik.web-integration.deleted', fields).id));
    assert.equal(ids.size, 50);
  });

  test('keeps a given id and time', () => {
    const event = createEvent('com.qlik.web-integration.deleted', { ...fields, id: 'A234-1234-1234', time: '2026-01-01T12:00:00Z' });
    assert.equal(event.id, 'A234-1234-1234');
    assert.equal(event.time, '2026-01-01T12:00:00Z');
  });

  test('keeps optional attributes and extensions', () => {
    const event = createEvent('com.qlik.web-integration.created', {
      ...fields,
      userid: 'UZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
      datacontenttype: 'application/json',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      data: { id: 'id123', name: 'Api client 1', validOrigins: ['http://unicorn.com'] },
    });
    assert.equal(event.userid, 'UZhiEfgW2bLd7HgR-jjzAh6VnicipweT');
    assert.equal(event.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    assert.deepEqual(event.data?.validOrigins, ['http://unicorn.com']);
  });

  test('throws TC_ERR_VALIDATION with the JSON path of bad data', () => {
    assert.throws(
      () =>
        createEvent('com.qlik.web-integration.created', {
          ...fields,
          data: { id: 'id123', name: 'Api client 1', validOrigins: [42 as unknown as string] },
        }),
      isValidationError(['/data/validOrigins/0']),
    );
    assert.throws(
      () => createEvent('com.qlik.web-integration.created', { ...fields, data: { id: 'id123' } as never }),
      isValidationError(['/data/name', '/data/validOrigins']),
    );
  });

  test('throws TC_ERR_VALIDATION with the JSON path of bad attributes', () => {
    assert.throws(
      () => createEvent('com.qlik.web-integration.deleted', { ...fields, tenantid: 'acme corp' }),
      isValidationError(['/tenantid']),
    );
    assert.throws(() => createEvent('com.qlik.web-integration.deleted', { ...fields, time: 'tomorrow' }), isValidationError(['/time']));
    assert.throws(() => createEvent('com.qlik.web-integration.deleted', { ...fields, source: '' }), isValidationError(['/source']));
    const { tenantid: _, ...noTenant } = fields;
    assert.throws(() => createEvent('com.qlik.web-integration.deleted', noTenant as typeof fields), isValidationError(['/tenantid']));
  });

  test('validates against the registry it is given', () => {
    const registry = createRegistry({ strict: true }).register('com.example.order.placed', Type.Object({ orderId: Type.String() }));
    const event = createEvent('com.example.order.placed', { source: 'shop', tenantid: 'acme', data: { orderId: 'o-1' } }, registry);
    assert.equal(event.data?.orderId, 'o-1');
    assert.throws(
      () =>
        createEvent('com.example.order.placed', { source: 'shop', tenantid: 'acme', data: { orderId: 1 as unknown as string } }, registry),
      isValidationError(['/data/orderId']),
    );
    assert.throws(
      () =>
        createEvent(
          'com.example.unknown' as 'com.example.order.placed',
          { source: 'shop', tenantid: 'acme', data: { orderId: 'o-1' } },
          registry,
        ),
      isValidationError(['/type']),
    );
  });

  test('the default registry lets unknown types through with envelope checks only', () => {
    const event = createEvent('com.example.anything', { source: 'shop', tenantid: 'acme', data: [1, 2, 3] });
    assert.deepEqual(event.data, [1, 2, 3]);
  });

  test('the event it returns is typed by its type', () => {
    const event = createEvent('com.qlik.web-integration.created', {
      ...fields,
      data: { id: 'id123', name: 'n', validOrigins: ['http://a.example'] },
    });
    const origins: string[] | undefined = event.data?.validOrigins;
    assert.deepEqual(origins, ['http://a.example']);
    // @ts-expect-error a created event's data has no "updates"
    assert.equal(event.data?.updates, undefined);
  });
});
