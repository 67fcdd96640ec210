import assert from 'node:assert/strict';
import { test } from 'node:test';
import Type from 'typebox';
import { createRegistry, defaultRegistry } from '../registry.ts';
import type { EventOf, QlikEvent, TenantcastEvent } from './qlik-events.ts';

// Compile-time checks: `tsc -p tsconfig.json --noEmit` type-checks this file. If `switch (event.type)`
// stopped narrowing `data`, the `Equal` assignments, the `@ts-expect-error` lines (whose access would
// then be allowed, e.g. on `any`) or the `never` in the default branch would fail the type check.

/** `true` only when A and B are the same type (`any` included), else `false`. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

function summarize(event: QlikEvent): string {
  switch (event.type) {
    case 'com.qlik.web-integration.created':
    case 'com.qlik.core.web-integration.created': {
      const origins = event.data.validOrigins;
      const originsAreStrings: Equal<typeof origins, string[]> = true;
      const nameIsString: Equal<typeof event.data.name, string> = true;
      assert.ok(originsAreStrings && nameIsString);
      return `created ${event.data.id} ${event.data.name} [${origins.join(' ')}]`;
    }
    case 'com.qlik.web-integration.updated':
    case 'com.qlik.core.web-integration.updated': {
      const updates = event.data.updates;
      const propertyIsOptionalString: Equal<(typeof updates)[number]['property'], string | undefined> = true;
      assert.ok(propertyIsOptionalString);
      // @ts-expect-error an update carries no validOrigins
      const refused: unknown = event.data.validOrigins;
      assert.equal(refused, undefined);
      return `updated ${event.data.id} ${updates.map((u) => `${u.property}:${u.oldValue}->${u.newValue}`).join(' ')}`;
    }
    case 'com.qlik.web-integration.deleted':
    case 'com.qlik.core.web-integration.deleted': {
      const idIsString: Equal<typeof event.data.id, string> = true;
      assert.ok(idIsString);
      // @ts-expect-error a deletion carries no validOrigins
      const refused: unknown = event.data.validOrigins;
      assert.equal(refused, undefined);
      return `deleted ${event.data.id}`;
    }
    default: {
      const exhaustive: never = event;
      return exhaustive;
    }
  }
}

/** tenantcast's own events narrow the same way, in the map that holds them with Qlik's. */
function systemSummary(event: TenantcastEvent): string {
  switch (event.type) {
    case 'com.tenantcast.webhook.delivery.exhausted':
      return `exhausted ${event.data.deliveryId}: ${event.data.reason}`;
    case 'com.tenantcast.webhook.endpoint.disabled': {
      const reasons: Equal<typeof event.data.reason, 'gone' | 'failing' | 'manual'> = true;
      assert.ok(reasons);
      return `disabled ${event.data.endpointId} (${event.data.reason})`;
    }
    case 'com.tenantcast.webhook.endpoint.enabled':
      return `enabled ${event.data.endpointId}`;
    default:
      return summarize(event);
  }
}

const base = {
  id: 'A234-1234-1234',
  time: '2026-01-01T12:00:00Z',
  source: 'com.qlik/my-service',
  specversion: '1.0',
  datacontenttype: 'application/json',
  tenantid: 'VZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
} as const;

test('switch (event.type) narrows data for every Qlik event type', () => {
  const events = [
    {
      ...base,
      type: 'com.qlik.web-integration.created',
      data: { id: 'id123', name: 'Api client 1', validOrigins: ['http://unicorn.com', 'http://foo.example'] },
    },
    { ...base, type: 'com.qlik.core.web-integration.created', data: { id: 'id124', name: 'Api client 2', validOrigins: [] } },
    {
      ...base,
      type: 'com.qlik.web-integration.updated',
      data: { id: 'id123', updates: [{ property: 'name', oldValue: 'A', newValue: 'B' }] },
    },
    { ...base, type: 'com.qlik.web-integration.deleted', data: { id: 'id123' } },
    { ...base, type: 'com.qlik.core.web-integration.deleted', data: { id: 'id125' } },
  ];
  // The registry is the runtime guarantee behind the cast: each event's data matches its type's schema.
  const summaries = events.map((raw) => summarize(defaultRegistry.parse(raw) as QlikEvent));
  assert.deepEqual(summaries, [
    'created id123 Api client 1 [http://unicorn.com http://foo.example]',
    'created id124 Api client 2 []',
    'updated id123 name:A->B',
    'deleted id123',
    'deleted id125',
  ]);
});

test('the default registry validates tenantcast’s system events, and TenantcastEvent narrows them', () => {
  const events = [
    {
      ...base,
      type: 'com.tenantcast.webhook.delivery.exhausted',
      data: { endpointId: 'wh_1', deliveryId: 'msg_t_1-0', reason: 'HTTP 500' },
    },
    { ...base, type: 'com.tenantcast.webhook.endpoint.disabled', data: { endpointId: 'wh_1', reason: 'gone', deliveryId: 'msg_t_1-0' } },
    { ...base, type: 'com.tenantcast.webhook.endpoint.enabled', data: { endpointId: 'wh_1' } },
    { ...base, type: 'com.qlik.web-integration.deleted', data: { id: 'id123' } },
  ];
  assert.deepEqual(
    events.map((raw) => systemSummary(defaultRegistry.parse(raw) as TenantcastEvent)),
    ['exhausted msg_t_1-0: HTTP 500', 'disabled wh_1 (gone)', 'enabled wh_1', 'deleted id123'],
  );
  assert.throws(() =>
    defaultRegistry.parse({ ...base, type: 'com.tenantcast.webhook.endpoint.disabled', data: { endpointId: 'wh_1', reason: 'bored' } }),
  );
});

test('EventOf narrows the events of a user-registered map as well', () => {
  const registry = createRegistry({ strict: true }).register(
    'com.example.order.placed',
    Type.Object({ orderId: Type.String(), quantity: Type.Integer() }),
  );
  type OrderEvent = EventOf<{ 'com.example.order.placed': { orderId: string; quantity: number } }>;

  function quantityOf(event: QlikEvent | OrderEvent): number {
    if (event.type === 'com.example.order.placed') {
      const quantityIsNumber: Equal<typeof event.data.quantity, number> = true;
      assert.ok(quantityIsNumber);
      return event.data.quantity;
    }
    // @ts-expect-error Qlik events carry no quantity
    const refused: unknown = event.data.quantity;
    assert.equal(refused, undefined);
    return 0;
  }

  const order = registry.parse({ ...base, type: 'com.example.order.placed', data: { orderId: 'o-1', quantity: 3 } }) as OrderEvent;
  const deletion = registry.parse({ ...base, type: 'com.qlik.web-integration.deleted', data: { id: 'x' } }) as QlikEvent;
  assert.equal(quantityOf(order), 3);
  assert.equal(quantityOf(deletion), 0);
});
