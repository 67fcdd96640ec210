import type { CloudEvent } from './envelope.ts';
import type {
  WebIntegrationCreatedData,
  WebIntegrationCreatedType,
  WebIntegrationDeletedData,
  WebIntegrationDeletedType,
  WebIntegrationUpdatedData,
  WebIntegrationUpdatedType,
} from './web-integration.ts';
import type { WebhookEventMap } from './webhook-events.ts';

/** Event type → `data` type, for Qlik's events that tenantcast knows out of the box. */
export type QlikEventMap = { [T in WebIntegrationCreatedType]: WebIntegrationCreatedData } & {
  [T in WebIntegrationUpdatedType]: WebIntegrationUpdatedData;
} & { [T in WebIntegrationDeletedType]: WebIntegrationDeletedData };

/**
 * Qlik's events and tenantcast's own about webhooks (`com.tenantcast.webhook.*`), which the relay
 * appends to a tenant's stream: a subscription without filters receives both, so type one with
 * this map (`subscribe<TenantcastEventMap>(…)`) to narrow them too.
 */
export type TenantcastEventMap = QlikEventMap & WebhookEventMap;

/** A union with one member per type of `TMap`, so that `switch (event.type)` narrows `data`. */
export type EventOf<TMap> = {
  [K in keyof TMap & string]: CloudEvent<K, TMap[K]> & { data: TMap[K] };
}[keyof TMap & string];

/**
 * Every known Qlik event, discriminated by `type`.
 * @example
 * switch (event.type) {
 *   case 'com.qlik.web-integration.created': event.data.validOrigins; break;
 * }
 */
export type QlikEvent = EventOf<QlikEventMap>;

/** Every event tenantcast knows out of the box, Qlik's and its own, discriminated by `type`. */
export type TenantcastEvent = EventOf<TenantcastEventMap>;
