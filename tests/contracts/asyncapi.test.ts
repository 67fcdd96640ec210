import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Parser } from '@asyncapi/parser';
import { CloseCode, FilterSchema } from '@tenantcast/sdk';
import { connect, makeEvent, plainUrl, publishOne, testToken, uniqueTenant } from '@tenantcast/testkit';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { useStack } from '../support/stack.ts';

// docs/asyncapi.yaml, the gateway's protocol: parsed by @asyncapi/parser without an error or a
// warning, valid AsyncAPI 3.0.0 (the JSON Schema of @asyncapi/specs), its close codes the SDK's
// CloseCode, its filter schema the SDK's, its operations those the gateway's code handles, and the
// frames a real gateway sends in both modes valid against its messages.

const root = join(import.meta.dirname, '../..');
const doc = parse(readFileSync(join(root, 'docs/asyncapi.yaml'), 'utf8'));
const specs = createRequire(import.meta.url)('@asyncapi/specs') as { schemas: Record<string, object> };

/** The value a local `$ref` (`#/a/b`) points at. */
function resolve(ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<any>((node, token) => node?.[token], doc);
}

/** Every `$ref` in `node`, with where it is. */
function refs(node: unknown, at = '#'): Array<{ ref: string; at: string }> {
  if (Array.isArray(node)) return node.flatMap((item, i) => refs(item, `${at}/${i}`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === '$ref' && typeof value === 'string' ? [{ ref: value, at }] : refs(value, `${at}/${key}`),
  );
}

/** A validator of the payload of message `name`, its `$ref`s into the document resolved. */
function payloadValidator(name: string) {
  const ajv = new Ajv.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ ...doc, $id: 'asyncapi' } as object);
  const check = ajv.compile({ $ref: `asyncapi#/components/messages/${name}/payload` });
  return (value: unknown) => assert.ok(check(value), `${name}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(value).slice(0, 400)}`);
}

describe('docs/asyncapi.yaml', () => {
  test('@asyncapi/parser parses it with no error and no warning', async () => {
    const { document, diagnostics } = await new Parser().parse(readFileSync(join(root, 'docs/asyncapi.yaml'), 'utf8'));
    // Severity 0 is an error, 1 a warning (Spectral's DiagnosticSeverity).
    const problems = diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.path.join('.')}: ${d.message}`);
    assert.deepEqual(problems, []);
    assert.ok(document !== undefined);
    assert.deepEqual(
      document
        .channels()
        .all()
        .map((c) => c.id())
        .sort(),
      ['multiplexed', 'plain'],
    );
  });

  test('is a valid AsyncAPI 3.0.0 document whose references all resolve', () => {
    assert.equal(doc.asyncapi, '3.0.0');
    // The schema bundles JSON Schema draft-07's meta-schema itself: ajv must not add its own copy.
    const ajv = new Ajv.default({ strict: false, allErrors: true, validateFormats: false, meta: false, validateSchema: false });
    const validate = ajv.compile(specs.schemas['3.0.0']!);
    assert.ok(validate(doc), ajv.errorsText(validate.errors, { separator: '\n' }));
    const dangling = refs(doc).filter(({ ref }) => !ref.startsWith('#/') || resolve(ref) === undefined);
    assert.deepEqual(dangling, []);
  });

  test('its close codes are the SDK’s CloseCode, and its filter schema the SDK’s FilterSchema', () => {
    const codes = Object.fromEntries((doc.info['x-close-codes'] as Array<{ name: string; code: number }>).map((c) => [c.name, c.code]));
    assert.deepEqual(codes, { ...CloseCode });
    // The SDK's Filter, with its references and $id in the document's form.
    const sdk = JSON.parse(
      JSON.stringify((FilterSchema as { $defs: { Filter: object } }).$defs.Filter).replaceAll(
        '"$ref":"Filter"',
        '"$ref":"#/components/schemas/Filter"',
      ),
    );
    delete sdk.$id;
    const { description: _, ...attributeMap } = doc.components.schemas.AttributeMap;
    const documented = JSON.parse(
      JSON.stringify(doc.components.schemas.Filter).replaceAll(
        '{"$ref":"#/components/schemas/AttributeMap"}',
        JSON.stringify(attributeMap),
      ),
    );
    assert.deepEqual(documented, sdk);
  });

  test('it names every op the gateway’s multiplexed session reads or sends', () => {
    const source = readFileSync(join(root, 'apps/gateway/src/protocol/multiplexed-session.ts'), 'utf8');
    const inCode = new Set([...source.matchAll(/op(?: ===|:) '([a-z]+)'|"op":"([a-z]+)"/g)].map((m) => String(m[1] ?? m[2])));
    const documented = Object.values(doc.components.messages as Record<string, { payload: { properties?: { op?: { const?: string } } } }>)
      .map((m) => m.payload.properties?.op?.const)
      .filter((op): op is string => op !== undefined);
    assert.ok(inCode.size >= 6, [...inCode].join());
    for (const op of inCode) assert.ok(documented.includes(op), `op "${op}" is not in docs/asyncapi.yaml`);
  });

  const stack = useStack();

  test('a real gateway’s frames match its messages, in both modes', async (t) => {
    const tenant = uniqueTenant('asyncapi');
    const first = await publishOne(stack.relay.url, stack.token, makeEvent(tenant, { type: 'com.example.thing.happened' }));

    const cloudEvent = payloadValidator('cloudEvent');
    const plain = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: '0' }), { token: stack.token });
    await plain.received(1);
    cloudEvent(plain.messages[0]);
    assert.equal(plain.events[0]!.relayoffset, first.offset);

    const mux = await connect(t, `${stack.gateway.wsUrl}/v1/connect`, { token: stack.token, protocols: ['tenantcast.v1'] });
    const subscribe = { op: 'subscribe', id: 's1', tenantid: tenant, filters: [{ prefix: { type: 'com.example.' } }], after: '0' };
    payloadValidator('subscribe')(subscribe);
    mux.send(subscribe);
    mux.send({ op: 'subscribe', id: 's2', tenantid: tenant, after: 'yesterday' });
    await mux.until(
      () => mux.messages.some((m) => m.op === 'event') && mux.messages.some((m) => m.op === 'error'),
      'an event and an error',
    );
    const unsubscribe = { op: 'unsubscribe', id: 's1' };
    payloadValidator('unsubscribe')(unsubscribe);
    mux.send(unsubscribe);
    await mux.until(() => mux.messages.some((m) => m.op === 'unsubscribed'), 'unsubscribed');
    const seen = new Set<string>();
    for (const message of mux.messages) {
      payloadValidator(String(message.op))(message);
      seen.add(String(message.op));
    }
    assert.deepEqual([...seen].sort(), ['error', 'event', 'subscribed', 'unsubscribed']);
  });

  test('a real gateway’s refresh frames match: expiring, refresh, refreshed', async (t) => {
    const tenant = uniqueTenant('asyncapi-refresh');
    const short = await testToken({ sub: 'asyncapi', scope: 'subscribe', tenants: [tenant], expiresIn: 4 });
    const mux = await connect(t, `${stack.gateway.wsUrl}/v1/connect`, { token: short, protocols: ['tenantcast.v1'] });
    mux.send({ op: 'subscribe', id: 's1', tenantid: tenant });
    await mux.until(() => mux.messages.some((m) => m.op === 'expiring'), 'the expiring warning');
    const refresh = { op: 'refresh', token: await testToken({ sub: 'asyncapi', scope: 'subscribe', tenants: [tenant], expiresIn: 600 }) };
    payloadValidator('refresh')(refresh);
    mux.send(refresh);
    await mux.until(() => mux.messages.some((m) => m.op === 'refreshed'), 'refreshed');
    for (const message of mux.messages) payloadValidator(String(message.op))(message);
    assert.deepEqual([...new Set(mux.messages.map((m) => m.op))].sort(), ['expiring', 'refreshed', 'subscribed']);
  });
});
