import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { TEST_SECRET } from '@tenantcast/testkit';
import fc from 'fast-check';
import { history } from '../support/events.ts';
import { figure } from '../support/scenarios.ts';
import { startStack } from '../support/stack.ts';

// Scenario 5: fuzzing. Random and malformed requests to POST /v1/events and to the gateway's
// WebSocket upgrade get only 2xx (101 for an upgrade) or 4xx, never 5xx; both processes stay up; a
// request refused with a 4xx stored none of its events.

const RELAY_REQUESTS = 8000;
const UPGRADES = 2500;
const CONCURRENCY = 16;
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
const BODY_LIMIT = 65_536;

const TENANTS = ['fz-a', 'fz-b'];
let counter = 0;
const nextId = () => `fz-${SEED}-${counter++}`;

const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const badPercent = fc.constantFrom('%', '%z', '%zz', '%E0%A4%A', '%C3%28', '%FF', '100%', '%%41', '%0', '%ED%A0%80');
const weird = fc.oneof(printable, badPercent, fc.constantFrom('', '*', '{a}', '[*]', '..', 'é', '\u{1F600}', 'a'.repeat(300)));

const contentType = fc.oneof(
  fc.constantFrom(
    'application/cloudevents+json',
    'APPLICATION/CloudEvents+JSON; charset=UTF-8',
    'application/cloudevents+json;charset="utf-8"',
    'application/cloudevents+json; charset=latin1',
    'application/cloudevents+json; charset=bogus-charset',
    'application/cloudevents-batch+json',
    'Application/CloudEvents-Batch+Json; Charset=utf-8',
    'application/cloudevents-batch+json; charset=utf-16le',
    'application/json',
    'application/json; charset=iso-8859-1',
    'text/plain',
    'application/octet-stream',
    'multipart/form-data; boundary=x',
    '',
  ),
  printable,
);

/** An event that is valid or nearly so: some attributes dropped or replaced. */
const event = fc
  .record({
    tenantid: fc.oneof(fc.constantFrom(...TENANTS), weird),
    type: fc.oneof(fc.constantFrom('com.example.fuzz', 'com.qlik.web-integration.created', 'com.qlik.web-integration.deleted'), weird),
    source: fc.oneof(fc.constant('fuzz'), weird),
    specversion: fc.oneof(fc.constant('1.0'), weird),
    time: fc.option(fc.oneof(fc.constant('2026-01-01T00:00:00Z'), weird), { nil: undefined }),
    data: fc.option(fc.jsonValue({ maxDepth: 4 }), { nil: undefined }),
    extra: fc.option(fc.dictionary(weird, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), { nil: undefined }),
    drop: fc.subarray(['id', 'source', 'type', 'specversion', 'tenantid']),
  })
  .map(({ drop, extra, ...fields }) => {
    const e: Record<string, unknown> = { ...extra, ...fields, id: nextId() };
    for (const key of drop) delete e[key];
    for (const key of Object.keys(e)) if (e[key] === undefined) delete e[key];
    return e;
  });

interface RelayInput {
  headers: Record<string, string>;
  body: string | Uint8Array;
  /** Ids of events this body carries, for the "nothing partly written" check. */
  ids: string[];
  auth: 'good' | 'none' | 'bad';
}

const relayInput: fc.Arbitrary<RelayInput> = fc.oneof(
  // Structured or batched, near-valid events.
  fc
    .record({
      ct: contentType,
      events: fc.array(event, { minLength: 1, maxLength: 6 }),
      batch: fc.boolean(),
      truncate: fc.option(fc.nat(), { nil: undefined }),
    })
    .map(({ ct, events, batch, truncate }) => {
      let body = JSON.stringify(batch ? events : events[0]);
      if (truncate !== undefined) body = body.slice(0, truncate % body.length);
      return {
        headers: { 'content-type': ct },
        body,
        ids: (batch ? events : events.slice(0, 1)).map((e) => String(e.id)),
        auth: 'good' as const,
      };
    }),
  // Any JSON value.
  fc
    .record({ ct: contentType, value: fc.jsonValue() })
    .map(({ ct, value }) => ({ headers: { 'content-type': ct }, body: JSON.stringify(value) ?? 'null', ids: [], auth: 'good' as const })),
  // Random bytes.
  fc
    .record({ ct: contentType, bytes: fc.uint8Array({ maxLength: 512 }) })
    .map(({ ct, bytes }) => ({ headers: { 'content-type': ct }, body: bytes, ids: [], auth: 'good' as const })),
  // Binary mode with random ce-* headers, bad percent-encoding among them.
  fc
    .record({
      ct: contentType,
      headers: fc.dictionary(
        fc.constantFrom(
          'ce-id',
          'ce-source',
          'ce-type',
          'ce-tenantid',
          'ce-time',
          'ce-subject',
          'ce-dataschema',
          'ce-Userid',
          'ce-x',
          'ce-EXT',
        ),
        weird,
        { maxKeys: 6 },
      ),
      spec: fc.constantFrom('1.0', '0.3', '%31.0', ''),
      tenant: fc.constantFrom(...TENANTS),
      body: fc.oneof(
        fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
        printable,
      ),
    })
    .map(({ ct, headers, spec, tenant, body }) => {
      const id = nextId();
      return {
        headers: {
          'ce-id': id,
          'ce-source': 'fuzz',
          'ce-type': 'com.example.fuzz',
          'ce-tenantid': tenant,
          ...headers,
          'ce-specversion': spec,
          'content-type': ct,
        },
        body,
        ids: headers['ce-id'] === undefined ? [id] : [],
        auth: 'good' as const,
      };
    }),
  // Bodies near the size limit.
  fc.record({ delta: fc.integer({ min: -300, max: 300 }), tenant: fc.constantFrom(...TENANTS) }).map(({ delta, tenant }) => {
    const id = nextId();
    const shell = JSON.stringify({ specversion: '1.0', id, source: 'fuzz', type: 'com.example.fuzz', tenantid: tenant, data: '' });
    const body = shell.replace('"data":""', `"data":"${'x'.repeat(Math.max(0, BODY_LIMIT + delta - shell.length))}"`);
    return { headers: { 'content-type': 'application/cloudevents+json' }, body, ids: [id], auth: 'good' as const };
  }),
  // Valid events with a missing or bad token.
  fc
    .record({ events: fc.array(event, { minLength: 1, maxLength: 3 }), auth: fc.constantFrom('none' as const, 'bad' as const) })
    .map(({ events, auth }) => ({
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
      ids: events.map((e) => String(e.id)),
      auth,
    })),
);

interface UpgradeInput {
  path: string;
  protocol: string | undefined;
  token: 'header' | 'query' | 'none' | 'junk' | 'other-tenant';
}

const segment = fc.oneof(
  fc.constantFrom(...TENANTS),
  weird.map((s) => encodeURIComponent(s)),
  badPercent,
);
const filterValue = fc.oneof(
  fc.jsonValue({ maxDepth: 5 }),
  fc.constantFrom(
    [{ prefix: { type: 'com.' } }],
    [{ exact: { subject: '*' } }],
    [{ sql: 'x' }],
    [{ not: { any: [] } }],
    [{ all: [{ suffix: { id: '{' } }] }],
  ),
);
const upgradeInput: fc.Arbitrary<UpgradeInput> = fc
  .record({
    base: fc.oneof(
      fc.constant('/v1/connect'),
      segment.map((s) => `/v1/tenants/${s}/events`),
      fc.webPath(),
      fc.constantFrom('/', '/v1/tenants//events', '/v1/tenants/fz-a/events/extra', '/healthz', '/%zz'),
    ),
    query: fc.array(
      fc.oneof(
        filterValue.map((f) => `filters=${encodeURIComponent(JSON.stringify(f) ?? '')}`),
        fc
          .oneof(fc.constantFrom('0', '0-0', '1-1', '99999999999999-0', '-1', 'abc', '1-', ''), weird)
          .map((a) => `after=${encodeURIComponent(a)}`),
        badPercent.map((b) => `filters=${b}`),
        weird.map((w) => `${encodeURIComponent(w)}=${encodeURIComponent(w)}`),
      ),
      { maxLength: 3 },
    ),
    protocol: fc.option(fc.constantFrom('cloudevents.json', 'tenantcast.v1', 'bogus', 'cloudevents.json, tenantcast.v1'), {
      nil: undefined,
    }),
    token: fc.constantFrom('header' as const, 'query' as const, 'none' as const, 'junk' as const, 'other-tenant' as const),
  })
  .map(({ base, query, protocol, token }) => ({ path: query.length > 0 ? `${base}?${query.join('&')}` : base, protocol, token }));

function upgrade(port: number, input: UpgradeInput, tokens: { good: string; other: string }): Promise<number> {
  const headers: Record<string, string> = {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': randomBytes(16).toString('base64'),
  };
  if (input.protocol !== undefined) headers['sec-websocket-protocol'] = input.protocol;
  let path = input.path;
  const token = input.token === 'other-tenant' ? tokens.other : input.token === 'junk' ? 'a.b.c' : tokens.good;
  if (input.token === 'header' || input.token === 'junk' || input.token === 'other-tenant') headers.authorization = `Bearer ${token}`;
  if (input.token === 'query') path += `${path.includes('?') ? '&' : '?'}token=${token}`;
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers, timeout: 10_000 });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(-1));
    req.end();
  });
}

async function inBatches<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY) await Promise.all(items.slice(i, i + CONCURRENCY).map(run));
}

test(`fuzzing POST /v1/events and the WebSocket upgrade: only 2xx/4xx, processes up, nothing partly written (seed ${SEED})`, {
  timeout: 240_000,
}, async (t) => {
  const { relay, gateway, close } = await startStack({ redis: { kind: 'single' }, relay: { bodyLimit: BODY_LIMIT } });
  t.after(close);
  const good = await mintToken({ sub: 'fuzz', scope: 'publish subscribe', tenants: ['*'] }, TEST_SECRET);
  const other = await mintToken({ sub: 'fuzz', scope: 'publish subscribe', tenants: ['someone-else'] }, TEST_SECRET);
  const bad = await mintToken({ sub: 'fuzz', scope: 'publish subscribe', tenants: ['*'] }, 'not-the-secret-0123456789');
  // Each tenant's stream exists, so history answers 200 even when the fuzz stored nothing there.
  for (const tenant of TENANTS) {
    const r = await fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${good}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: randomUUID(), source: 'seed', type: 'com.example.seed', tenantid: tenant }),
    });
    assert.equal(r.status, 202);
  }

  const statuses = new Map<number, number>();
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  const refusedIds = new Set<string>();
  const acceptedIds = new Set<string>();
  const fiveHundreds: string[] = [];

  const relayInputs = fc.sample(relayInput, { numRuns: RELAY_REQUESTS, seed: SEED });
  const started = Date.now();
  await inBatches(relayInputs, async (input) => {
    const headers: Record<string, string> = { ...input.headers };
    if (input.auth !== 'none') headers.authorization = `Bearer ${input.auth === 'good' ? good : bad}`;
    let status: number;
    try {
      const response = await fetch(`${relay.url}/v1/events`, { method: 'POST', headers, body: input.body as BodyInit });
      status = response.status;
      await response.arrayBuffer();
    } catch (error) {
      // fetch refuses some header values before sending; those are not requests.
      if (error instanceof TypeError && !String(error.cause ?? '').includes('ECONN')) return;
      throw error;
    }
    count(status);
    if (status >= 500) fiveHundreds.push(`${status} ${JSON.stringify(input.headers)} ${String(input.body).slice(0, 200)}`);
    if (status >= 400 && status < 500) for (const id of input.ids) refusedIds.add(id);
    if (status === 202) for (const id of input.ids) acceptedIds.add(id);
  });
  assert.equal((await fetch(`${relay.url}/healthz`)).status, 200, 'the relay is up');
  const relayMs = Date.now() - started;

  const port = Number(new URL(gateway.url).port);
  const upgradeStatuses = new Map<number, number>();
  const upgradeInputs = fc.sample(upgradeInput, { numRuns: UPGRADES, seed: SEED });
  await inBatches(upgradeInputs, async (input) => {
    const status = await upgrade(port, input, { good, other });
    upgradeStatuses.set(status, (upgradeStatuses.get(status) ?? 0) + 1);
    if (status >= 500 || status < 100) fiveHundreds.push(`upgrade ${status} ${JSON.stringify(input)}`);
  });
  assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200, 'the gateway is up');

  // Nothing partly written: no id of a refused request is stored.
  const stored = new Set<string>();
  for (const tenant of TENANTS) for (const e of await history(relay.url, good, tenant)) stored.add(e.event.id);
  const leaked = [...refusedIds].filter((id) => stored.has(id));

  const answered = [...statuses.values()].reduce((a, b) => a + b, 0) + [...upgradeStatuses.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz (seed ${SEED}): ${answered} requests answered in ${Date.now() - started} ms (relay part ${relayMs} ms)`);
  console.log(`fuzz relay statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  console.log(`fuzz upgrade statuses: ${JSON.stringify(Object.fromEntries(upgradeStatuses))}`);
  console.log(`fuzz: ${refusedIds.size} ids in refused requests, ${leaked.length} of them stored; ${acceptedIds.size} ids accepted`);
  figure('fuzz.requests', answered);
  figure('fuzz.server-errors', fiveHundreds.length);
  figure('fuzz.partial-writes', leaked.length);
  assert.deepEqual(fiveHundreds.slice(0, 5), [], `${fiveHundreds.length} answers were 5xx or none`);
  assert.deepEqual(leaked.slice(0, 5), [], 'ids of refused requests were stored');
  assert.ok(answered >= 10_000, `only ${answered} requests answered`);
});
