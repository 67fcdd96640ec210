import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ERRORS } from '@tenantcast/sdk';
import { testAppOptions, uniqueKeyPrefix } from '@tenantcast/testkit';
import { loadConfig } from '../config.ts';
import { createRelay } from '../create-relay.ts';
import { openApiPath } from '../testing/openapi-contract.ts';
import { useRelay } from '../testing/use-relay.ts';
import { DOCS_PATH, INTERNAL_ROUTES, OPERATIONS, UNDOCUMENTED_TAG } from './register-openapi.ts';

// The relay's OpenAPI document: valid OpenAPI 3.1, public, and complete: every route the relay
// registers is in it, but for the pages INTERNAL_ROUTES lists. contract.test.ts checks real answers against it.

const stack = useRelay();

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { tags?: string[]; security?: unknown[]; responses: Record<string, { description: string }> }>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string; name?: string; description?: string }> };
};

async function fetchDocument(): Promise<{ response: Response; doc: Doc }> {
  const response = await fetch(`${stack.relay.url}/openapi.json`);
  assert.equal(response.status, 200);
  return { response, doc: (await response.json()) as Doc };
}

describe('GET /openapi.json', () => {
  test('is public, JSON, and a valid OpenAPI 3.1 document', async () => {
    const { response, doc } = await fetchDocument();
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(doc.openapi, '3.1.0');
    const result = await new Validator().validate(doc as never);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
    // The same bytes each time: built once, when the relay is ready.
    const again = await fetch(`${stack.relay.url}/openapi.json`);
    assert.deepEqual(await again.json(), doc);
  });

  test('lists every route the relay registers, but for the internal ones it names', async () => {
    const config = loadConfig({ ...testAppOptions(stack.redis.url), keyPrefix: uniqueKeyPrefix(), logLevel: 'silent' });
    const relay = createRelay(config);
    // The routes are added when the app loads (create-relay.ts's after() step): a hook added now sees them all.
    const routes: Array<{ method: string; url: string }> = [];
    relay.app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    });
    try {
      await relay.app.ready();
      const doc = relay.app.swagger() as unknown as Doc;
      const internal = new Set<string>();
      const missing: string[] = [];
      for (const { method, url } of routes) {
        // Fastify answers HEAD for each GET by itself; the GET is documented.
        if (method === 'HEAD') continue;
        const prefix = INTERNAL_ROUTES.find(({ prefix }) => url === prefix || url.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
        if (prefix !== undefined && OPERATIONS[`${method} ${url}`] === undefined) {
          internal.add(prefix.prefix);
          continue;
        }
        const operation = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
        if (operation === undefined || operation.tags?.includes(UNDOCUMENTED_TAG)) missing.push(`${method} ${url}`);
      }
      assert.deepEqual(missing, [], 'routes without an entry in apps/relay/src/openapi/');
      // The internal list names only what exists: the dashboard, the console's files, the UI.
      assert.deepEqual([...internal].sort(), INTERNAL_ROUTES.map((r) => r.prefix).sort());
      // And no operation documents a route that is not there.
      const registered = new Set(routes.map((r) => `${r.method} ${r.url}`));
      assert.deepEqual(
        Object.keys(OPERATIONS).filter((key) => !registered.has(key)),
        [],
      );
      assert.ok(routes.some((r) => r.url.startsWith('/admin/queues')) && routes.some((r) => r.url.startsWith(`${DOCS_PATH}/`)));
    } finally {
      await relay.close();
    }
  });

  test('says how each operation authenticates and lists its error codes from the one table', async () => {
    const { doc } = await fetchDocument();
    assert.deepEqual(doc.components.securitySchemes.bearerAuth, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: doc.components.securitySchemes.bearerAuth?.description,
    });
    assert.equal(doc.components.securitySchemes.qlikSignature?.name, 'Qlik-Signature');
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const api = path.startsWith('/v1/');
        const expected = path === '/v1/qlik/webhook' ? [{ qlikSignature: [] }] : api ? [{ bearerAuth: [] }] : undefined;
        assert.deepEqual(operation.security, expected, `${method} ${path}`);
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400 || path === '/readyz') continue;
          // Each error answer names its codes, each of the table and of that status.
          const codes = [...response.description.matchAll(/`(TC_ERR_[A-Z_]+)`/g)].map((m) => m[1] as keyof typeof ERRORS);
          assert.ok(codes.length > 0, `${method} ${path} ${status}`);
          for (const code of codes) assert.equal((ERRORS[code] as { status?: number }).status, Number(status), code);
        }
        if (api) assert.ok(operation.responses['401'] || path === '/v1/qlik/webhook', `${method} ${path} documents 401`);
      }
    }
  });

  test('the Qlik webhook shows the catalog’s web-integration events as examples', async () => {
    const { doc } = await fetchDocument();
    const post = doc.paths['/v1/qlik/webhook']?.post as unknown as { requestBody: { content: Record<string, { examples?: object }> } };
    const types = Object.values(post.requestBody.content['application/json']?.examples ?? {}).map(
      (e) => (e as { value: { type: string } }).value.type,
    );
    assert.deepEqual(types, ['com.qlik.web-integration.created', 'com.qlik.web-integration.updated', 'com.qlik.web-integration.deleted']);
  });
});

describe('/docs', () => {
  test('serves Swagger UI and its files from the relay, with a CSP of its own origin only', async () => {
    const page = await fetch(`${stack.relay.url}/docs/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /https?:|unsafe-eval/);
    // Inline styles only (Swagger UI applies some), never an inline script.
    assert.deepEqual(
      csp.split('; ').filter((d) => d.includes('unsafe-inline')),
      ["style-src 'self' 'unsafe-inline'"],
    );
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    // Every script and stylesheet is the relay's, and is there.
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 5, html);
    for (const asset of assets) {
      assert.doesNotMatch(asset, /^(https?:)?\/\//, `${asset} is not the relay's`);
      const file = await fetch(new URL(asset, `${stack.relay.url}/docs/`));
      assert.equal(file.status, 200, asset);
      await file.arrayBuffer();
    }
    const initializer = await (await fetch(`${stack.relay.url}/docs/static/swagger-initializer.js`)).text();
    assert.match(initializer, /validatorUrl: null/);
  });
});
