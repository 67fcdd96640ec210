import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { assertRefusal, type Cleanup, connect, makeEvent, plainUrl, refusal, type TestClient, testToken } from '@tenantcast/testkit';
import fc from 'fast-check';
import { useGateway } from '../testing/use-gateway.ts';

const stack = useGateway();

const SENTINEL_TYPE = 'com.example.isolation.sentinel';

/** Valid tenant ids that both ends can serve; see `servable`. */
const tenantId = fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/).filter((t) => servable(t));

/**
 * Valid tenant ids are left out when:
 * - `.` and `..`: URL dot-segment normalization (by the client and by the gateway's URL parser) takes
 *   them out of the path, so plain mode cannot name them;
 * - names of Object.prototype members (`toString`, `constructor`, `__proto__`…) have a test of their own
 *   in tests/gateway/fanout/tenant-isolation.test.ts, through the relay (which once answered 500 for them).
 */
function servable(tenant: string): boolean {
  return tenant !== '.' && tenant !== '..' && !(tenant in Object.prototype);
}

/** Two different tenants, often close to each other: a suffix, a prefix, the other case. */
const tenantPair = tenantId.chain((a) =>
  fc
    .tuple(
      fc.constant(a),
      fc.oneof(
        tenantId,
        fc.constant(`${a}x`.slice(-128)),
        fc.constant(a.slice(0, -1)),
        fc.constant(a.toUpperCase()),
        fc.constant(a.toLowerCase()),
        fc.constant(`${a}.`.slice(-128)),
      ),
    )
    .filter(([x, y]) => y !== x && /^[A-Za-z0-9._-]{1,128}$/.test(y) && servable(y)),
);

/** Event ids with glob characters, braces, Redis-key separators and unicode. */
const eventId = fc.oneof(
  fc.constantFrom('*', '?', '[a-z]', '{', '}', '{acme}', '}{', '\\*', '..', 'a:b', '%2A', ' ', '\u0000x', '😀', 'é', 'e\u0301', '\u202e'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);

function filterOf(values: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const attribute = fc.constantFrom('type', 'id', 'source', 'subject', 'tenantid', 'region');
  const map = fc.dictionary(attribute, values, { minKeys: 1, maxKeys: 3 });
  const { filter } = fc.letrec<{ filter: unknown }>((tie) => ({
    filter: fc.oneof(
      { maxDepth: 3, depthIdentifier: 'filter' },
      fc.record({ exact: map }),
      fc.record({ prefix: map }),
      fc.record({ suffix: map }),
      fc.record({ all: fc.array(tie('filter'), { minLength: 1, maxLength: 2 }) }),
      fc.record({ any: fc.array(tie('filter'), { minLength: 1, maxLength: 2 }) }),
      fc.record({ not: tie('filter') }),
    ),
  }));
  return filter;
}

/** One run's input: two tenants, event ids, and filters that name the tenants and ids too. */
const scenario = fc
  .record({ tenants: tenantPair, ids: fc.uniqueArray(eventId, { minLength: 1, maxLength: 5 }) })
  .chain(({ tenants, ids }) => {
    const values = fc.oneof(
      fc.constantFrom(...tenants, ...ids, 'com.example.', '.happened', '/tests/', 'eu'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
    );
    return fc.record({
      tenants: fc.constant(tenants),
      ids: fc.constant(ids),
      filters: fc.array(filterOf(values), { minLength: 0, maxLength: 2 }),
    });
  });

/** Connects a multiplexed client and resolves with the reply to one subscribe request. */
async function multiplexedReply(t: Cleanup, token: string, tenant: string): Promise<Record<string, unknown>> {
  const client = await connect(t, `${stack.gateway.wsUrl}/v1/connect`, { token, protocols: ['tenantcast.v1'] });
  client.send({ op: 'subscribe', id: 'x', tenantid: tenant });
  await client.received(1);
  client.ws.close();
  return client.messages[0]!;
}

describe('tenant isolation', () => {
  test('a subscriber of tenant A never gets an event of tenant B, whatever the tenants, filters and event ids', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ tenants: [a, b], ids, filters }) => {
        const clients: TestClient[] = [];
        const cleanup: (() => unknown)[] = [];
        const t: Cleanup = { after: (fn) => cleanup.push(fn) };
        try {
          // A source of the run's own: runs may repeat tenants and ids, and storage dedupes on (source, id).
          const source = `/tests/{isolation}/*/${randomUUID()}`;
          // Both streams exist before anyone subscribes (see plain-mode.test.ts on fresh tenants).
          await stack.writer.publishOne(makeEvent(a, { id: 'history', source }));
          await stack.writer.publishOne(makeEvent(b, { id: 'history', source }));

          const tokenA = await testToken({ scope: 'subscribe', tenants: [a] });
          const star = await testToken({ scope: 'subscribe', tenants: ['*'] });
          // The random filters, or a sentinel type, so that the run knows when A's subscriber is done.
          const filtersA = filters.length === 0 ? [] : [{ any: [{ all: filters }, { exact: { type: SENTINEL_TYPE } }] }];
          const subA = await connect(t, plainUrl(stack.gateway.wsUrl, a, { filters: filtersA }), { token: tokenA });
          const subB = await connect(t, plainUrl(stack.gateway.wsUrl, b), { token: star });
          clients.push(subA, subB);

          // The same ids in both tenants, B's first.
          await stack.writer.publish(ids.map((id) => makeEvent(b, { id, source })));
          const storedA = await stack.writer.publish(ids.map((id) => makeEvent(a, { id, source })));
          await stack.writer.publishOne(makeEvent(b, { id: 'sentinel', source, type: SENTINEL_TYPE }));
          await stack.writer.publishOne(makeEvent(a, { id: 'sentinel', source, type: SENTINEL_TYPE }));

          const receivedA = await subA.receivedId('sentinel');
          const receivedB = await subB.receivedId('sentinel');
          for (const event of receivedA) assert.equal(event.tenantid, a, `A's subscriber got ${JSON.stringify(event)}`);
          for (const event of receivedB) assert.equal(event.tenantid, b, `B's subscriber got ${JSON.stringify(event)}`);
          const offsetsA = new Set(storedA.map((s) => s.offset));
          for (const event of receivedA.slice(0, -1)) assert.ok(offsetsA.has(event.relayoffset), 'only A events published in this run');
          // A `*` token gets all of B's events, unfiltered.
          assert.deepEqual(
            receivedB.map((e) => e.id),
            [...ids, 'sentinel'],
          );

          // A token for A is refused B, before the upgrade and in multiplexed mode.
          assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, b), { token: tokenA }), 403, 'TC_ERR_FORBIDDEN_TENANT');
          const reply = await multiplexedReply(t, tokenA, b);
          assert.equal(reply.op, 'error');
          assert.equal(reply.code, 'TC_ERR_FORBIDDEN_TENANT');
        } finally {
          for (const fn of cleanup) await fn();
          for (const client of clients) client.ws.terminate();
        }
      }),
      { numRuns: 25 },
    );
  });

  test('tenants that differ only in case or by a suffix are separate', async (t) => {
    const pairs = [
      ['acme', 'ACME'],
      ['acme', 'acme.'],
      ['acme', 'acme-eu'],
      ['a.b', 'a-b'],
    ] as const;
    const star = await testToken({ scope: 'subscribe', tenants: ['*'] });
    const subscribers = new Map<string, TestClient>();
    for (const tenant of new Set(pairs.flat())) {
      await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
      subscribers.set(tenant, await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: star }));
    }
    for (const tenant of subscribers.keys()) await stack.writer.publishOne(makeEvent(tenant, { id: `only-${tenant}` }));
    for (const tenant of subscribers.keys()) await stack.writer.publishOne(makeEvent(tenant, { id: `end-${tenant}` }));
    for (const [tenant, client] of subscribers) {
      const received = await client.receivedId(`end-${tenant}`);
      assert.deepEqual(
        received.map((e) => [e.tenantid, e.id]),
        [
          [tenant, `only-${tenant}`],
          [tenant, `end-${tenant}`],
        ],
      );
    }
  });
});
