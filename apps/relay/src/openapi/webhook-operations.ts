import type { ServerErrorCode } from '@tenantcast/sdk';
import Type from 'typebox';
import {
  DeliveryPage,
  DeliveryWithAttempts,
  ReplayAnswerSchema,
  ReplayInput,
  RetriedFailed,
  RetryQueued,
  Rotated,
  RotateInput,
  WebhookEndpointWithSecret,
  WebhookInput,
  WebhookList,
  WebhookPatch,
  WebhookPatched,
} from './api-schemas.ts';
import { EVERY_ROUTE, errorResponses, TOKEN_IN_PATH, WITH_BODY } from './error-responses.ts';
import { TenantParams } from './ingest-operations.ts';
import { bearer, json, type Operation, type OperationTable } from './operation.ts';

const EndpointParams = Type.Object({
  ...TenantParams.properties,
  id: Type.String({ description: 'The endpoint id, `wh_` and 32 hex digits.' }),
});

const DeliveryParams = Type.Object({
  ...EndpointParams.properties,
  deliveryId: Type.String({ description: 'The delivery id (its webhook-id), `msg_<tenant>_<offset>`.' }),
});

/** What every call of the webhook API may answer: the token check, Redis, and an endpoint that does not exist. */
const ON_ENDPOINT: readonly ServerErrorCode[] = [...TOKEN_IN_PATH, 'TC_ERR_NOT_FOUND', 'TC_ERR_REDIS_UNAVAILABLE', ...EVERY_ROUTE];
/** What a JSON body may be refused for (endpoint-requests.ts's `parseJson` and field checks). */
const JSON_BODY: readonly ServerErrorCode[] = ['TC_ERR_VALIDATION', 'TC_ERR_INVALID_JSON', 'TC_ERR_UNSUPPORTED_MEDIA_TYPE', ...WITH_BODY];

/** Common fields of the webhook API's operations. */
function webhooks(operationId: string, summary: string, description?: string): Omit<Operation, 'response'> {
  return { operationId, summary, ...(description === undefined ? {} : { description }), tags: ['webhooks'], ...bearer('admin') };
}

function deliveries(operationId: string, summary: string, description?: string): Omit<Operation, 'response'> {
  return { ...webhooks(operationId, summary, description), tags: ['deliveries'] };
}

const jsonBody = (schema: unknown) => ({ content: { 'application/json': { schema } } });

/** The per-tenant webhook API (docs/webhooks.md): endpoints, their secrets, replay, and the delivery log. */
export const WEBHOOK_OPERATIONS: OperationTable = {
  'POST /v1/tenants/:tenantid/webhooks': {
    ...webhooks('createWebhook', 'Register a webhook endpoint', 'Answers the endpoint with its signing secret, shown here and on GET.'),
    params: TenantParams,
    body: jsonBody(WebhookInput),
    response: {
      201: json('Registered.', WebhookEndpointWithSecret),
      ...errorResponses(TOKEN_IN_PATH, JSON_BODY, ['TC_ERR_TOO_MANY_ENDPOINTS', 'TC_ERR_REDIS_UNAVAILABLE'], EVERY_ROUTE),
    },
  },
  'GET /v1/tenants/:tenantid/webhooks': {
    ...webhooks('listWebhooks', "List a tenant's webhook endpoints", 'Without their secrets.'),
    params: TenantParams,
    response: {
      200: json('The endpoints.', WebhookList),
      ...errorResponses(TOKEN_IN_PATH, ['TC_ERR_REDIS_UNAVAILABLE'], EVERY_ROUTE),
    },
  },
  'GET /v1/tenants/:tenantid/webhooks/:id': {
    ...webhooks('getWebhook', 'Read a webhook endpoint', 'With its signing secret.'),
    params: EndpointParams,
    response: { 200: json('The endpoint.', WebhookEndpointWithSecret), ...errorResponses(ON_ENDPOINT) },
  },
  'PATCH /v1/tenants/:tenantid/webhooks/:id': {
    ...webhooks(
      'updateWebhook',
      'Change, disable or enable a webhook endpoint',
      'Keeps its id, secret and position in the stream. Enabling it again delivers what it missed and answers `resumed`.',
    ),
    params: EndpointParams,
    body: jsonBody(WebhookPatch),
    response: {
      200: json('The endpoint, without its secret.', WebhookPatched),
      ...errorResponses(ON_ENDPOINT, JSON_BODY),
    },
  },
  'DELETE /v1/tenants/:tenantid/webhooks/:id': {
    ...webhooks('deleteWebhook', 'Delete a webhook endpoint'),
    params: EndpointParams,
    response: { 204: { type: 'null', description: 'Deleted.' }, ...errorResponses(ON_ENDPOINT) },
  },
  'POST /v1/tenants/:tenantid/webhooks/:id/secret/rotate': {
    ...webhooks(
      'rotateWebhookSecret',
      "Rotate an endpoint's signing secret",
      'Deliveries are signed with both secrets for `graceSeconds` (default a day, at most 7 days).',
    ),
    params: EndpointParams,
    body: jsonBody(RotateInput),
    response: { 200: json('The new secret.', Rotated), ...errorResponses(ON_ENDPOINT, JSON_BODY) },
  },
  'POST /v1/tenants/:tenantid/webhooks/:id/replay': {
    ...webhooks(
      'replayWebhook',
      'Deliver stored events to an endpoint again',
      'Each under its own webhook-id. One call queues at most WEBHOOK_REPLAY_MAX_EVENTS; `complete: false` says to call again with `after` = `last`.',
    ),
    params: EndpointParams,
    body: jsonBody(ReplayInput),
    response: {
      202: json('Queued.', ReplayAnswerSchema),
      ...errorResponses(ON_ENDPOINT, JSON_BODY, ['TC_ERR_BAD_OFFSET', 'TC_ERR_TOO_MANY_DELIVERIES']),
    },
  },
  'GET /v1/tenants/:tenantid/webhooks/:id/deliveries': {
    ...deliveries(
      'listDeliveries',
      "List an endpoint's deliveries",
      'Newest change first, from the delivery log (kept WEBHOOK_LOG_RETENTION_SECONDS).',
    ),
    params: EndpointParams,
    querystring: Type.Object({
      status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
      cursor: Type.Optional(Type.String({ description: 'The `next` of the previous page.' })),
    }),
    response: { 200: json('A page of deliveries.', DeliveryPage), ...errorResponses(ON_ENDPOINT, ['TC_ERR_BAD_LIMIT']) },
  },
  'GET /v1/tenants/:tenantid/webhooks/:id/deliveries/:deliveryId': {
    ...deliveries('getDelivery', 'Read a delivery and its attempts'),
    params: DeliveryParams,
    response: { 200: json('The delivery, with each attempt, oldest first.', DeliveryWithAttempts), ...errorResponses(ON_ENDPOINT) },
  },
  'POST /v1/tenants/:tenantid/webhooks/:id/deliveries/:deliveryId/retry': {
    ...deliveries('retryDelivery', 'Send a delivery again', 'Under the same webhook-id, which receivers dedupe on.'),
    params: DeliveryParams,
    response: { 202: json('Queued.', RetryQueued), ...errorResponses(ON_ENDPOINT, ['TC_ERR_TOO_MANY_DELIVERIES']) },
  },
  'POST /v1/tenants/:tenantid/webhooks/:id/deliveries/retry-failed': {
    ...deliveries('retryFailedDeliveries', "Send an endpoint's failed deliveries again", 'Newest first, capped as replays are.'),
    params: EndpointParams,
    response: { 202: json('How many were queued.', RetriedFailed), ...errorResponses(ON_ENDPOINT, ['TC_ERR_TOO_MANY_DELIVERIES']) },
  },
};
