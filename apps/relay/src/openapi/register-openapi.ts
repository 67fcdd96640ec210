import { readFileSync } from 'node:fs';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { pageHeaders } from '../page-headers.ts';
import { hoistSchemas } from './hoist-schemas.ts';
import { INGEST_OPERATIONS } from './ingest-operations.ts';
import type { Operation } from './operation.ts';
import { WEBHOOK_OPERATIONS } from './webhook-operations.ts';

/** Where the document is served, and the reference UI. */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** The document's named schemas, each written once: filled by `hoistSchemas` from the operations. */
const SCHEMAS: Record<string, unknown> = {};

/** Every documented route, `METHOD /fastify/:path` → its operation, its named schemas referenced from `SCHEMAS`. */
export const OPERATIONS: Readonly<Record<string, Operation>> = hoistSchemas({ ...INGEST_OPERATIONS, ...WEBHOOK_OPERATIONS }, SCHEMAS);

/**
 * Routes the relay serves that are not part of its API, and so not in the document: pages and their
 * files. A test checks that every other route the relay registers has an operation.
 */
export const INTERNAL_ROUTES: ReadonlyArray<{ prefix: string; why: string }> = [
  { prefix: '/admin/queues', why: 'the operator dashboard (bull-board): its pages and its own JSON API' },
  { prefix: DOCS_PATH, why: 'this reference UI: its page, its assets, and copies of this document' },
  { prefix: '/console/', why: 'the tenant console’s page and files (its config.json is documented)' },
  { prefix: '/console', why: 'the redirect to /console/' },
];

/** The tag of a route that has no operation in the table: the document shows it, and the test fails on it. */
export const UNDOCUMENTED_TAG = 'undocumented';

function isInternal(url: string): boolean {
  if (OPERATIONS[`GET ${url}`] !== undefined) return false;
  return INTERNAL_ROUTES.some(({ prefix }) => url === prefix || url.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
}

/**
 * @fastify/swagger's `transform`: a route's entry comes from the operation tables, not from the
 * route's `schema`, so that Fastify neither validates nor serializes with it (operation.ts says
 * why). A route with no entry is listed under the `undocumented` tag, which the test refuses.
 */
function documentRoute({ url, route }: { url: string; route: RouteOptions }): { schema: unknown; url: string } {
  if (isInternal(url)) return { schema: { hide: true }, url };
  const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
  const operation = OPERATIONS[`${method} ${url}`];
  if (operation === undefined)
    return { schema: { summary: `${method} ${url} has no entry in apps/relay/src/openapi/`, tags: [UNDOCUMENTED_TAG] }, url };
  // A copy: swagger moves `x-examples` out of the schemas it is given, and the table serves every relay of the process.
  return { schema: structuredClone(operation), url };
}

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const DESCRIPTION = [
  'tenantcast’s relay: CloudEvents in, per-tenant Redis Streams, history, webhooks and their delivery log.',
  'Every refusal is `{"error":{"code","message","details"?}}` with a code of the one table (`ERRORS`, packages/sdk/src/errors.ts);',
  'each operation lists the codes it may answer. Bearer tokens are JWTs: HS256 ones of TENANTCAST_SECRET (`sub`, `scope`, `tenants`, `exp`), or an identity provider’s (docs/auth.md); the scope an',
  'operation needs is in `x-tenantcast-scope`. The gateway’s WebSocket protocol is docs/asyncapi.yaml.',
].join(' ');

/**
 * Registers @fastify/swagger, which documents each route added after it (its `onRoute` hook): call
 * it before the routes. The relay's own routes are then added in an `after` step (create-relay.ts).
 */
export function registerOpenApi(app: FastifyInstance): void {
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'tenantcast relay', version, description: DESCRIPTION },
      tags: [
        { name: 'events', description: 'Publish CloudEvents and read them back.' },
        { name: 'webhooks', description: 'A tenant’s webhook endpoints (docs/webhooks.md).' },
        { name: 'deliveries', description: 'The webhook delivery log.' },
        { name: 'tokens', description: 'What a token grants (docs/auth.md).' },
        { name: 'console', description: 'The tenant console (docs/console.md).' },
        { name: 'operations', description: 'Health, readiness and this document.' },
      ],
      components: {
        schemas: SCHEMAS as never,
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'An HS256 JWT signed with TENANTCAST_SECRET; `scope` must hold the operation’s `x-tenantcast-scope`, `tenants` the tenant.',
          },
          qlikSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'Qlik-Signature',
            description: 'The hex HMAC-SHA256 of the raw body, keyed with QLIK_WEBHOOK_SECRET, as Qlik Cloud sends it.',
          },
        },
      },
    },
    transform: documentRoute as never,
  });
}

/** The reference UI's answers: a page's (its own files only, no CDN, font or validator badge); Swagger UI applies inline styles as it renders an operation (its CSP advice allows them by hash, which Chromium refuses for them): styles only, scripts stay 'self'. */
const DOCS_HEADERS = pageHeaders({ inlineStyles: true });

/**
 * `GET /openapi.json`, public: the document, built once when the relay is ready and sent as the
 * same bytes to every request. And `/docs`, Swagger UI served from the relay's own files.
 */
export function registerDocsRoutes(app: FastifyInstance): void {
  let document = '';
  app.addHook('onReady', async () => {
    document = JSON.stringify(app.swagger());
  });
  app.get(OPENAPI_PATH, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(document),
  );
  void app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      reply.headers(DOCS_HEADERS);
    });
    await scope.register(fastifySwaggerUi, {
      routePrefix: DOCS_PATH,
      // Swagger UI would load a badge from validator.swagger.io.
      validatorUrl: false,
      uiConfig: { deepLinking: true },
      theme: { title: 'tenantcast relay API' },
    });
  });
}
