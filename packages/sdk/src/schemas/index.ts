export { ATTRIBUTE_NAME_PATTERN, type CloudEvent, CloudEventAttributes, CloudEventEnvelope, type EventFields } from './envelope.ts';
export type { EventOf, QlikEvent, QlikEventMap, TenantcastEvent, TenantcastEventMap } from './qlik-events.ts';
export {
  WebIntegrationCreatedData,
  WebIntegrationDeletedData,
  WebIntegrationTypes,
  WebIntegrationUpdate,
  WebIntegrationUpdatedData,
} from './web-integration.ts';
export {
  DeliveryExhaustedData,
  EndpointDisabledData,
  EndpointEnabledData,
  SYSTEM_EVENT_PREFIX,
  type WebhookEventMap,
  WebhookEventTypes,
} from './webhook-events.ts';
