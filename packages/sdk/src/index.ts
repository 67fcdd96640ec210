export { type BackoffOptions, backoffDelay, parseRetryAfter } from './backoff.ts';
export { createEvent } from './create-event.ts';
export {
  CloseCode,
  describeIssues,
  ERRORS,
  type ErrorCode,
  type ErrorSpec,
  isErrorCode,
  type SdkErrorCode,
  type ServerErrorCode,
  TenantcastError,
  type ValidationIssue,
} from './errors.ts';
export { compileFilters, type EventPredicate, type Filter, FilterSchema, MAX_FILTER_DEPTH, MAX_FILTER_NODES } from './filters/filter.ts';
export { exceedsDepth, MAX_JSON_DEPTH } from './json-depth.ts';
export { compareOffsets } from './offsets.ts';
export {
  type DeliveryAttemptInfo,
  type DeliveryInfo,
  type DeliveryStatus,
  type PortalLink,
  type PublishResult,
  RelayClient,
  type RelayClientOptions,
  type StoredEvent,
  type WebhookCatchUp,
  type WebhookEndpointInfo,
  type WebhookInput,
  type WebhookPatch,
} from './publish/relay-client.ts';
export {
  createRegistry,
  defaultRegistry,
  EventRegistry,
  isJsonContentType,
  type RegistryOptions,
  type ValidationResult,
} from './registry.ts';
export {
  ATTRIBUTE_NAME_PATTERN,
  type CloudEvent,
  CloudEventAttributes,
  CloudEventEnvelope,
  type EventFields,
} from './schemas/envelope.ts';
export type { EventOf, QlikEvent, QlikEventMap, TenantcastEvent, TenantcastEventMap } from './schemas/qlik-events.ts';
export {
  WebIntegrationCreatedData,
  WebIntegrationDeletedData,
  WebIntegrationTypes,
  WebIntegrationUpdate,
  WebIntegrationUpdatedData,
} from './schemas/web-integration.ts';
export {
  DeliveryExhaustedData,
  EndpointDisabledData,
  EndpointEnabledData,
  SYSTEM_EVENT_PREFIX,
  type WebhookEventMap,
  WebhookEventTypes,
} from './schemas/webhook-events.ts';
export {
  type ReceivedEvent,
  type StatusDetail,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionStatus,
  subscribe,
} from './subscribe/subscribe.ts';
export { isTenantId, TENANT_ID_PATTERN } from './tenant-id.ts';
// Token signing and verifying are for servers: `@tenantcast/sdk/tokens`. The claims' types stay here for code that reads them.
export type { Scope, TokenClaims } from './tokens.ts';
export { generateWebhookSecret, signWebhook, verifyWebhook, type WebhookHeaders } from './webhooks/signature.ts';
