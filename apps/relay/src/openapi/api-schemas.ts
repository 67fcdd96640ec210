import {
  CloudEventEnvelope,
  type DeliveryAttemptInfo,
  type DeliveryInfo,
  FilterSchema,
  type PortalLink,
  type WebhookCatchUp as WebhookCatchUpInfo,
  type WebhookEndpointInfo,
} from '@tenantcast/sdk';
import Type, { type Static } from 'typebox';
import type { WhoAmI } from '../auth/whoami-route.ts';
import type { ReplayAnswer } from '../webhooks/replay.ts';

// The JSON bodies of the relay's API, as TypeBox schemas, for its OpenAPI document. The events
// themselves are the SDK's schemas (`CloudEventEnvelope`, `FilterSchema`), the ones ingest and the
// webhook API validate with. The answers are declared here, and the compile-time checks at the end
// hold them equal to the SDK's and the relay's own types: a field added to one and not the other
// fails `tsc`. Each `$id` becomes the schema's name under `components.schemas`.

/** A stream offset, `<ms>-<seq>` (a Redis Stream entry id). */
const Offset = Type.String({
  pattern: '^\\d{1,20}-\\d{1,20}$',
  description: 'A stream offset, `<ms>-<seq>`.',
  examples: ['1767268800000-0'],
});
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** A CloudEvent as ingest accepts it: the SDK's envelope. */
export const CloudEvent = Type.Unsafe<Static<typeof CloudEventEnvelope>>({
  ...CloudEventEnvelope,
  $id: 'CloudEvent',
  description: 'A CloudEvent 1.0 with the `tenantid` extension; `data` is checked against its type’s schema for registered types.',
});

/** A batch (`application/cloudevents-batch+json`): one tenant's events. */
export const CloudEventBatch = Type.Array(CloudEvent, {
  $id: 'CloudEventBatch',
  description: "One tenant's events, stored whole or not at all.",
});

/** One event of the 202 answer. */
const AcceptedEvent = Type.Object(
  { id: Type.String(), source: Type.String(), offset: Offset, duplicate: Type.Boolean() },
  { additionalProperties: false, $id: 'AcceptedEvent' },
);

/** The 202 of `POST /v1/events` and `POST /v1/qlik/webhook`. */
export const Accepted = Type.Object(
  { accepted: Type.Array(AcceptedEvent, { description: 'In request order; a duplicate carries the first copy’s offset.' }) },
  { additionalProperties: false, $id: 'Accepted' },
);

/** One stored event, as history lists it. */
const StoredEvent = Type.Object({ offset: Offset, event: CloudEvent }, { additionalProperties: false, $id: 'StoredEvent' });

/** A page of history: forward (`next`) or back (`previous`). */
export const HistoryPage = Type.Union(
  [
    Type.Object(
      { events: Type.Array(StoredEvent), next: Nullable(Offset) },
      { additionalProperties: false, title: 'Forward page', description: '`next` is the `after` of the next page; null at the end.' },
    ),
    Type.Object(
      { events: Type.Array(StoredEvent), previous: Nullable(Offset) },
      {
        additionalProperties: false,
        title: 'Backward page',
        description: '`previous` is the `before` of the next older page; null when none is retained.',
      },
    ),
  ],
  { $id: 'HistoryPage' },
);

/** CloudEvents Subscriptions API filters, all of which must hold. */
export const Filters = Type.Array(FilterSchema, { maxItems: 32, $id: 'Filters' });

/** What registers an endpoint. */
export const WebhookInput = Type.Object(
  {
    url: Type.String({
      format: 'uri',
      maxLength: 2048,
      description: 'http(s), no credentials; no private address unless WEBHOOK_ALLOW_PRIVATE.',
    }),
    filters: Type.Optional(Filters),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false, $id: 'WebhookInput' },
);

/** What a PATCH changes; absent fields stay. */
export const WebhookPatch = Type.Object(
  {
    url: Type.Optional(Type.String({ format: 'uri', maxLength: 2048 })),
    filters: Type.Optional(Filters),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    disabled: Type.Optional(Type.Boolean({ description: 'true stops deliveries (reason `manual`); false resumes from where it stopped.' })),
  },
  { additionalProperties: false, $id: 'WebhookPatch' },
);

const endpointFields = {
  id: Type.String({ pattern: '^wh_[0-9a-f]{32}$' }),
  tenantid: Type.String(),
  url: Type.String(),
  filters: Type.Array(FilterSchema),
  description: Type.String(),
  createdAt: Type.String({ format: 'date-time', description: 'Its position in the stream: it gets the events stored after this time.' }),
  disabled: Type.Boolean(),
  disabledReason: Type.Union([Type.Literal('gone'), Type.Literal('failing'), Type.Literal('manual'), Type.Null()]),
  disabledDetail: Nullable(Type.String()),
  stoppedAt: Nullable(Type.String({ description: 'While disabled, the offset after which events are delivered when it is enabled.' })),
  failingSince: Nullable(Time),
  previousSecretExpiresAt: Nullable(Time),
};

/** An endpoint as the API shows it, without its secret (lists, PATCH). */
export const WebhookEndpoint = Type.Object(endpointFields, { additionalProperties: false, $id: 'WebhookEndpoint' });

/** An endpoint with its signing secret (create, get). */
export const WebhookEndpointWithSecret = Type.Object(
  { ...endpointFields, secret: Type.String({ pattern: '^whsec_', description: 'Standard Webhooks signing secret.' }) },
  { additionalProperties: false, $id: 'WebhookEndpointWithSecret' },
);

/** What enabling an endpoint again queued of what it missed. */
export const WebhookCatchUp = Type.Object(
  {
    from: Nullable(Type.String()),
    enqueued: Type.Integer({ minimum: 0 }),
    merged: Type.Integer({ minimum: 0 }),
    complete: Type.Boolean(),
    last: Nullable(Type.String()),
  },
  { additionalProperties: false, $id: 'WebhookCatchUp' },
);

/** The PATCH answer: the endpoint, and `resumed` when the call enabled it again. */
export const WebhookPatched = Type.Object(
  { ...endpointFields, resumed: Type.Optional(WebhookCatchUp) },
  { additionalProperties: false, $id: 'WebhookPatched' },
);

export const WebhookList = Type.Object({ webhooks: Type.Array(WebhookEndpoint) }, { additionalProperties: false, $id: 'WebhookList' });

export const RotateInput = Type.Object(
  { graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800, default: 86_400 })) },
  { additionalProperties: false, $id: 'RotateInput' },
);

export const Rotated = Type.Object(
  { secret: Type.String({ pattern: '^whsec_' }), previousSecretExpiresAt: Nullable(Time) },
  { additionalProperties: false, $id: 'Rotated' },
);

export const ReplayInput = Type.Object(
  {
    after: Type.Optional(Type.String({ description: 'Replay events after this offset (exclusive), or `0`.' })),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'Replay events stored at or after this time.' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'Replay events stored up to this time.' })),
  },
  { additionalProperties: false, $id: 'ReplayInput' },
);

export const ReplayAnswerSchema = Type.Object(
  {
    replay: Type.String(),
    enqueued: Type.Integer({ minimum: 0 }),
    merged: Type.Integer({ minimum: 0 }),
    last: Nullable(Type.String()),
    complete: Type.Boolean({ description: 'False when a cap stopped it: call again with `after` = `last`.' }),
  },
  { additionalProperties: false, $id: 'ReplayAnswer' },
);

const deliveryFields = {
  id: Type.String({ description: 'The delivery’s webhook-id, `msg_<tenant>_<offset>`.' }),
  endpointId: Type.String(),
  offset: Offset,
  eventId: Nullable(Type.String()),
  eventType: Nullable(Type.String()),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attempts: Type.Integer({ minimum: 0 }),
  createdAt: Type.String(),
  lastAttemptAt: Nullable(Time),
  nextAttemptAt: Nullable(Time),
  lastStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
};

export const Delivery = Type.Object(deliveryFields, { additionalProperties: false, $id: 'Delivery' });

const DeliveryAttempt = Type.Object(
  {
    at: Time,
    status: Nullable(Type.Integer()),
    durationMs: Type.Number({ minimum: 0 }),
    error: Nullable(Type.String()),
    responseBody: Nullable(Type.String({ description: 'The first 1 KiB of the answer’s body.' })),
  },
  { additionalProperties: false, $id: 'DeliveryAttempt' },
);

export const DeliveryWithAttempts = Type.Object(
  { ...deliveryFields, attemptLog: Type.Array(DeliveryAttempt) },
  { additionalProperties: false, $id: 'DeliveryWithAttempts' },
);

export const DeliveryPage = Type.Object(
  { deliveries: Type.Array(Delivery), next: Nullable(Type.String({ description: 'Pass as `cursor` for the next page.' })) },
  { additionalProperties: false, $id: 'DeliveryPage' },
);

export const RetryQueued = Type.Object(
  { id: Type.String(), status: Type.Literal('pending') },
  { additionalProperties: false, $id: 'RetryQueued' },
);

export const RetriedFailed = Type.Object({ retried: Type.Integer({ minimum: 0 }) }, { additionalProperties: false, $id: 'RetriedFailed' });

export const PortalLinkInput = Type.Object(
  { expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, default: 3600 })) },
  { additionalProperties: false, $id: 'PortalLinkInput' },
);

export const PortalLinkSchema = Type.Object(
  { url: Type.String({ format: 'uri' }), expiresAt: Time },
  { additionalProperties: false, $id: 'PortalLink' },
);

export const WhoAmISchema = Type.Object(
  {
    sub: Type.String(),
    tenants: Type.Array(Type.String(), { description: 'Granted tenant ids, or ["*"] for every tenant.' }),
    scopes: Type.Array(Type.String({ enum: ['publish', 'subscribe', 'admin'] })),
    exp: Type.Union([Type.Integer(), Type.Null()], { description: 'Expiry, seconds since the epoch; null for a token without one.' }),
  },
  { additionalProperties: false, $id: 'WhoAmI' },
);

// Compile-time checks: each answer's schema describes the very type the code returns.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Flat<T> = { [K in keyof T]: T[K] };
type Same<A, B> = Equal<Flat<A>, Flat<B>> extends true ? true : { schema: Flat<A>; type: Flat<B> };
const checks: [
  // `filters` is the SDK's FilterSchema, typed as any schema there; its type is the SDK's `Filter`.
  Same<Omit<Static<typeof WebhookEndpoint>, 'filters'>, Omit<WebhookEndpointInfo, 'filters'>>,
  Same<Static<typeof WebhookCatchUp>, WebhookCatchUpInfo>,
  Same<Static<typeof ReplayAnswerSchema>, ReplayAnswer>,
  Same<Static<typeof Delivery>, DeliveryInfo>,
  Same<Static<typeof DeliveryAttempt>, DeliveryAttemptInfo>,
  Same<Static<typeof PortalLinkSchema>, PortalLink>,
  Same<Omit<Static<typeof WhoAmISchema>, 'scopes'>, Omit<WhoAmI, 'scopes'>>,
] = [true, true, true, true, true, true, true];
void checks;
