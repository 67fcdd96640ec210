import { WebhookEventTypes } from '@tenantcast/sdk';
import type { Logger } from 'pino';
import type { WebhookEndpoint, WebhookStore } from './endpoint-store.ts';
import type { SystemEvents } from './system-events.ts';

/** What the worker's attempts tell an endpoint's lifecycle about, and through what. */
export interface EndpointHealthOptions {
  webhooks: WebhookStore;
  systemEvents: SystemEvents;
  logger: Logger;
  /** WEBHOOK_DISABLE_AFTER_SECONDS, in ms: how long every attempt may fail before the endpoint is disabled. */
  disableAfterMs: number;
}

/**
 * Auto-disable: after each attempt that reached the endpoint or failed to, moves its failure clock
 * (endpoint-store.ts, `recordOutcome`), and tells the tenant when the clock disabled it. A Redis
 * failure here is logged, not thrown: the attempt's outcome stands, and the next attempt tries again.
 */
export async function recordAttempt(options: EndpointHealthOptions, seen: WebhookEndpoint, ok: boolean, deliveryId: string): Promise<void> {
  try {
    const disabled = await options.webhooks.recordOutcome(seen.tenantid, seen, ok, options.disableAfterMs);
    if (disabled === undefined) return;
    options.logger.warn({ tenant: seen.tenantid, endpoint: seen.id, since: seen.failingSince }, 'endpoint failing for too long; disabled');
    await options.systemEvents.emit(seen.tenantid, WebhookEventTypes.disabled, { endpointId: seen.id, reason: 'failing', deliveryId });
  } catch (error) {
    options.logger.warn({ err: error, tenant: seen.tenantid, endpoint: seen.id }, 'could not record a delivery outcome');
  }
}

/** A 410 Gone: disables the endpoint (reason `gone`) and tells the tenant, once however many deliveries got a 410. */
export async function disableGone(options: EndpointHealthOptions, tenant: string, endpointId: string, deliveryId: string): Promise<void> {
  const detail = `answered 410 Gone to ${deliveryId} at ${new Date().toISOString()}`;
  if ((await options.webhooks.disable(tenant, endpointId, 'gone', detail)) === undefined) return;
  await options.systemEvents.emit(tenant, WebhookEventTypes.disabled, { endpointId, reason: 'gone', deliveryId });
}
