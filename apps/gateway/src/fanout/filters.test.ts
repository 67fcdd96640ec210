import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, makeEvent, plainUrl, uniqueTenant } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

const stack = useGateway();

/** The events every case publishes, by id: attributes of several kinds, some missing on some events. */
const CORPUS: Record<string, Record<string, unknown>> = {
  a: { type: 'com.example.order.created', source: '/shop/eu', subject: 'orders/1', region: 'eu' },
  b: { type: 'com.example.order.deleted', source: '/shop/us', subject: 'orders/2', region: 'us' },
  c: { type: 'com.example.invoice.created', source: '/billing/eu', subject: 'invoices/1', priority: 5 },
  d: { type: 'com.other.order.created', source: '/shop/eu' },
  e: { type: 'com.example.order.created', source: '/shop/us', subject: 'orders/3', flag: true },
};

interface Case {
  name: string;
  filters: unknown[];
  /** Ids of CORPUS that match, in publish order. */
  expected: string[];
  /** Attributes of a last event that matches, when no corpus event does. */
  sentinel?: Record<string, unknown>;
}

const CASES: Case[] = [
  { name: 'exact on type', filters: [{ exact: { type: 'com.example.order.created' } }], expected: ['a', 'e'] },
  {
    name: 'exact on two attributes (both must hold)',
    filters: [{ exact: { type: 'com.example.order.created', source: '/shop/us' } }],
    expected: ['e'],
  },
  {
    name: 'exact is case-sensitive',
    filters: [{ exact: { type: 'COM.EXAMPLE.ORDER.CREATED' } }],
    expected: [],
    sentinel: { type: 'COM.EXAMPLE.ORDER.CREATED', source: '/upper' },
  },
  { name: 'exact on an integer extension, as its canonical string', filters: [{ exact: { priority: '5' } }], expected: ['c'] },
  { name: 'exact on a boolean extension', filters: [{ exact: { flag: 'true' } }], expected: ['e'] },
  { name: 'prefix on type', filters: [{ prefix: { type: 'com.example.order.' } }], expected: ['a', 'b', 'e'] },
  {
    name: 'prefix on two attributes; a missing attribute does not match',
    filters: [{ prefix: { source: '/shop/', subject: 'orders/' } }],
    expected: ['a', 'b', 'e'],
  },
  { name: 'suffix on type', filters: [{ suffix: { type: '.created' } }], expected: ['a', 'c', 'd', 'e'] },
  { name: 'suffix on subject', filters: [{ suffix: { subject: '/1' } }], expected: ['a', 'c'] },
  { name: 'all', filters: [{ all: [{ prefix: { type: 'com.example.' } }, { suffix: { type: '.created' } }] }], expected: ['a', 'c', 'e'] },
  { name: 'any', filters: [{ any: [{ exact: { region: 'eu' } }, { exact: { flag: 'true' } }] }], expected: ['a', 'e'] },
  { name: 'not', filters: [{ not: { prefix: { type: 'com.example.' } } }], expected: ['d'] },
  { name: 'not of a missing attribute matches', filters: [{ not: { exact: { subject: 'orders/1' } } }], expected: ['b', 'c', 'd', 'e'] },
  {
    name: 'several top-level filters: all must hold',
    filters: [{ prefix: { type: 'com.example.' } }, { exact: { source: '/shop/us' } }],
    expected: ['b', 'e'],
  },
  {
    name: 'nested dialects with several top-level filters',
    filters: [{ not: { any: [{ exact: { region: 'us' } }, { suffix: { type: '.deleted' } }] } }, { prefix: { source: '/shop/' } }],
    expected: ['a', 'd', 'e'],
  },
  { name: 'an empty list matches everything', filters: [], expected: ['a', 'b', 'c', 'd', 'e'] },
];

describe('filters, end to end through the filters query parameter', () => {
  for (const c of CASES) {
    test(`${c.name}: live and catching up`, async (t) => {
      const tenant = uniqueTenant('filters');
      const history = await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
      const live = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { filters: c.filters }), { token: stack.token });

      const events = Object.entries(CORPUS).map(([id, fields]) => makeEvent(tenant, { id, ...fields }));
      const accepted = await stack.writer.publish(events);
      const last = c.expected.at(-1);
      const sentinelFields = c.sentinel ?? (last === undefined ? {} : CORPUS[last]!);
      const sentinel = await stack.writer.publishOne(makeEvent(tenant, { ...sentinelFields, id: 'sentinel' }));

      const expectedIds = [...c.expected, 'sentinel'];
      const received = await live.receivedId('sentinel');
      assert.deepEqual(
        received.map((e) => e.id),
        expectedIds,
      );
      // The offsets are the stored ones, skipped events leaving gaps.
      const offsets = new Map(accepted.map((a) => [a.id, a.offset]));
      offsets.set('sentinel', sentinel.offset);
      assert.deepEqual(
        received.map((e) => e.relayoffset),
        expectedIds.map((id) => offsets.get(id)),
      );

      const catchingUp = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { filters: c.filters, after: history.offset }), {
        token: stack.token,
      });
      const caughtUp = await catchingUp.receivedId('sentinel');
      assert.deepEqual(
        caughtUp.map((e) => e.id),
        expectedIds,
      );
    });
  }

  test('filters match context attributes, not fields of data', async (t) => {
    const tenant = uniqueTenant('data');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { filters: [{ exact: { region: 'eu' } }] }), {
      token: stack.token,
    });
    await stack.writer.publish([
      makeEvent(tenant, { id: 'in-data', datacontenttype: 'application/json', data: { region: 'eu' } }),
      makeEvent(tenant, { id: 'sentinel', region: 'eu' }),
    ]);
    const received = await client.receivedId('sentinel');
    assert.deepEqual(
      received.map((e) => e.id),
      ['sentinel'],
    );
  });
});
