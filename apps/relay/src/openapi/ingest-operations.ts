import Type from 'typebox';
import { Accepted, CloudEvent, CloudEventBatch, HistoryPage, PortalLinkInput, PortalLinkSchema, WhoAmISchema } from './api-schemas.ts';
import { EVERY_ROUTE, errorResponses, TOKEN_CHECK, TOKEN_IN_PATH, WITH_BODY } from './error-responses.ts';
import { bearer, json, type OperationTable } from './operation.ts';
import { QLIK_EXAMPLES } from './qlik-examples.ts';

/** `{tenantid}` in a path. */
export const TenantParams = Type.Object({
  tenantid: Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$', description: 'The tenant id.' }),
});

const withQlikExamples = { allOf: [CloudEvent], 'x-examples': QLIK_EXAMPLES };

/** What storing a body of events may answer, however the caller authenticated. */
const STORE_ERRORS = [
  'TC_ERR_BAD_REQUEST',
  'TC_ERR_VALIDATION',
  'TC_ERR_INVALID_JSON',
  'TC_ERR_MIXED_TENANTS',
  'TC_ERR_BATCH_TOO_LARGE',
  'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
  'TC_ERR_RATE_LIMITED',
  'TC_ERR_REDIS_UNAVAILABLE',
  'TC_ERR_NOT_REPLICATED',
] as const;

/** POST /v1/events: the bearer token's answers, binary mode's headers, and storing. */
const INGEST_ERRORS = [
  'TC_ERR_UNAUTHORIZED',
  'TC_ERR_TOKEN_INVALID',
  'TC_ERR_KEYS_UNAVAILABLE',
  'TC_ERR_FORBIDDEN_SCOPE',
  'TC_ERR_FORBIDDEN_TENANT',
  'TC_ERR_INVALID_HEADER',
  ...STORE_ERRORS,
] as const;

/** Publishing, the Qlik webhook, history, portal links, and the operational routes. */
export const INGEST_OPERATIONS: OperationTable = {
  'POST /v1/events': {
    operationId: 'publishEvents',
    summary: 'Publish CloudEvents',
    description: [
      'The CloudEvents HTTP binding: structured (`application/cloudevents+json`), batched (`application/cloudevents-batch+json`),',
      'binary (a `ce-specversion` header, attributes in `ce-*` headers, the body is `data`, any media type), or',
      '`application/json` holding one whole CloudEvent. One request holds one tenant’s events and is stored whole or not at all;',
      'an event whose (`source`, `id`) the tenant already has is not stored again (`duplicate: true`). See docs/api.md.',
    ].join(' '),
    tags: ['events'],
    ...bearer('publish'),
    body: {
      content: {
        'application/cloudevents+json': { schema: withQlikExamples },
        'application/cloudevents-batch+json': { schema: CloudEventBatch },
        'application/json': { schema: withQlikExamples },
        '*/*': { schema: { description: 'Binary mode: the event’s `data`, with its attributes in `ce-*` headers.' } },
      },
    },
    response: {
      202: json('Stored (or known already), in request order.', Accepted),
      ...errorResponses(INGEST_ERRORS, WITH_BODY, EVERY_ROUTE),
    },
  },

  'POST /v1/qlik/webhook': {
    operationId: 'receiveQlikWebhook',
    summary: 'Receive a Qlik Cloud webhook',
    description: [
      'A target for Qlik Cloud webhooks, on when `QLIK_WEBHOOK_SECRET` is set. `Qlik-Signature` (the hex HMAC-SHA256 of the raw',
      'body, keyed with that secret) authenticates the call; the body is a CloudEvent, Qlik’s legacy envelope, or a mix of both',
      '(docs/qlik-webhooks.md), stored in the tenant its `tenantid` names.',
    ].join(' '),
    tags: ['events'],
    security: [{ qlikSignature: [] }],
    body: { content: { 'application/json': { schema: withQlikExamples } } },
    response: {
      202: json('Stored (or known already).', Accepted),
      ...errorResponses(['TC_ERR_QLIK_DISABLED', 'TC_ERR_SIGNATURE_INVALID', ...STORE_ERRORS], WITH_BODY, EVERY_ROUTE),
    },
  },

  'GET /v1/tenants/:tenantid/events': {
    operationId: 'readHistory',
    summary: "Read a tenant's stored events",
    description: [
      'Oldest first. `after` pages forward (answer `next`); `before` pages back (answer `previous`). Events are never skipped in',
      'silence: 410 when retention trimmed events after `after`, 409 when `after` is past the stream’s end.',
    ].join(' '),
    tags: ['events'],
    ...bearer('subscribe'),
    params: TenantParams,
    querystring: Type.Object({
      after: Type.Optional(Type.String({ description: 'Exclusive; an offset, or `0` (default) for the oldest retained event.' })),
      before: Type.Optional(Type.String({ description: 'Exclusive; an offset, or `end` for the latest events. Not with `after`.' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    }),
    response: {
      200: json('A page of events.', HistoryPage),
      ...errorResponses(
        TOKEN_IN_PATH,
        ['TC_ERR_BAD_OFFSET', 'TC_ERR_BAD_LIMIT', 'TC_ERR_OFFSET_AHEAD', 'TC_ERR_OFFSET_EXPIRED', 'TC_ERR_REDIS_UNAVAILABLE'],
        EVERY_ROUTE,
      ),
    },
  },

  'GET /v1/whoami': {
    operationId: 'whoAmI',
    summary: 'What the relay grants the calling token',
    description:
      'The token’s subject, tenants and scopes as the relay reads them: after verification and, for an identity provider’s token, the claims mapping (docs/auth.md). Any valid token. Answered with `Cache-Control: no-store`.',
    tags: ['tokens'],
    security: [{ bearerAuth: [] }],
    response: {
      200: json('What the token grants.', WhoAmISchema),
      ...errorResponses(
        TOKEN_CHECK.filter((code) => code !== 'TC_ERR_FORBIDDEN_SCOPE'),
        EVERY_ROUTE,
      ),
    },
  },

  'POST /v1/tenants/:tenantid/portal-links': {
    operationId: 'createPortalLink',
    summary: 'Mint a console link for a tenant',
    description:
      'A link to the tenant console signed in for this tenant only (`admin subscribe`) until `expiresAt`; the token rides in the URL’s fragment. Answered with `Cache-Control: no-store`.',
    tags: ['console'],
    ...bearer('admin'),
    params: TenantParams,
    body: { content: { 'application/json': { schema: PortalLinkInput } } },
    response: {
      201: json('The link.', PortalLinkSchema),
      ...errorResponses(
        TOKEN_IN_PATH,
        ['TC_ERR_VALIDATION', 'TC_ERR_INVALID_JSON', 'TC_ERR_UNSUPPORTED_MEDIA_TYPE'],
        WITH_BODY,
        EVERY_ROUTE,
      ),
    },
  },

  'GET /console/config.json': {
    operationId: 'consoleConfig',
    summary: 'Where the console finds the relay and the gateway',
    tags: ['console'],
    response: {
      200: json(
        'The console’s configuration.',
        Type.Object(
          { gatewayUrl: Type.String({ description: 'A ws:// or wss:// URL.' }), relayUrl: Type.String() },
          { additionalProperties: false },
        ),
      ),
      ...errorResponses(['TC_ERR_BAD_REQUEST'], EVERY_ROUTE),
    },
  },

  'GET /healthz': {
    operationId: 'health',
    summary: 'The process is up',
    tags: ['operations'],
    response: { 200: json('Up.', Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false })) },
  },

  'GET /readyz': {
    operationId: 'readiness',
    summary: 'Redis answers and the relay is not shutting down',
    tags: ['operations'],
    response: {
      200: json('Ready.', Type.Object({ status: Type.Literal('ready') }, { additionalProperties: false })),
      503: json(
        'Not ready: shutting down, or Redis does not answer.',
        Type.Object(
          { status: Type.Union([Type.Literal('closing'), Type.Literal('redis unavailable')]), message: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
        { 'retry-after': { type: 'integer' } },
      ),
    },
  },

  'GET /openapi.json': {
    operationId: 'openapi',
    summary: 'This document',
    description: 'The relay’s OpenAPI 3.1 document; the reference UI at `/docs` renders it.',
    tags: ['operations'],
    response: { 200: json('An OpenAPI 3.1 document.', Type.Object({ openapi: Type.String() })) },
  },
};
