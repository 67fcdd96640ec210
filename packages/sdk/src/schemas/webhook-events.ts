import Type, { type Static } from 'typebox';

/**
 * tenantcast's own events about a tenant's webhooks, appended to that tenant's stream by the relay
 * (docs/webhooks.md, "System events"). Subscribers get them like any event; endpoints get them only
 * when their filters name `com.tenantcast.` types, and never the events about themselves.
 */
export const WebhookEventTypes = {
  exhausted: 'com.tenantcast.webhook.delivery.exhausted',
  disabled: 'com.tenantcast.webhook.endpoint.disabled',
  enabled: 'com.tenantcast.webhook.endpoint.enabled',
} as const;

/** The prefix of every tenantcast system event type. */
export const SYSTEM_EVENT_PREFIX = 'com.tenantcast.';

/** Data of `com.tenantcast.webhook.delivery.exhausted`: a delivery failed its last attempt. */
export const DeliveryExhaustedData = Type.Object({
  endpointId: Type.String({ description: 'The endpoint the delivery was for.' }),
  deliveryId: Type.String({ description: "The delivery's id: its webhook-id, msg_<tenant>_<offset>." }),
  reason: Type.String({ description: 'Why the last attempt failed, in one line.' }),
});

/** Data of `com.tenantcast.webhook.endpoint.disabled`. */
export const EndpointDisabledData = Type.Object({
  endpointId: Type.String(),
  reason: Type.Union([Type.Literal('gone'), Type.Literal('failing'), Type.Literal('manual')], {
    description:
      '`gone`: it answered 410; `failing`: every attempt failed for WEBHOOK_DISABLE_AFTER_SECONDS; `manual`: disabled through the API.',
  }),
  deliveryId: Type.Optional(Type.String({ description: 'The delivery whose answer disabled it, for `gone` and `failing`.' })),
});

/** Data of `com.tenantcast.webhook.endpoint.enabled`. */
export const EndpointEnabledData = Type.Object({
  endpointId: Type.String(),
});

export type DeliveryExhaustedData = Static<typeof DeliveryExhaustedData>;
export type EndpointDisabledData = Static<typeof EndpointDisabledData>;
export type EndpointEnabledData = Static<typeof EndpointEnabledData>;

/** Event type → `data` type of the system events. */
export type WebhookEventMap = {
  [WebhookEventTypes.exhausted]: DeliveryExhaustedData;
  [WebhookEventTypes.disabled]: EndpointDisabledData;
  [WebhookEventTypes.enabled]: EndpointEnabledData;
};
