import { hostname } from 'node:os';
import { SYSTEM_EVENT_PREFIX, type WebhookEventMap } from '@tenantcast/sdk';
import type { StreamAppender } from '@tenantcast/server';
import type { Logger } from 'pino';

/**
 * tenantcast's own events about a tenant's webhooks (`com.tenantcast.webhook.*`, typed in the SDK),
 * appended to that tenant's stream: its subscribers see a delivery exhausted or an endpoint disabled
 * or enabled as they see any event, and endpoints may ask for them by filter.
 */
export class SystemEvents {
  readonly #appender: StreamAppender;
  readonly #logger: Logger;
  readonly #source = `/tenantcast/relay/${hostname()}`;

  constructor(appender: StreamAppender, logger: Logger) {
    this.#appender = appender;
    this.#logger = logger;
  }

  /** Appends one system event to the tenant's stream. Never throws: a lost system event is logged, and the work that caused it goes on. */
  async emit<T extends keyof WebhookEventMap>(tenant: string, type: T, data: WebhookEventMap[T]): Promise<void> {
    const event = {
      specversion: '1.0',
      id: globalThis.crypto.randomUUID(),
      source: this.#source,
      type,
      tenantid: tenant,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data,
    };
    try {
      await this.#appender.append(tenant, [{ source: event.source, id: event.id, json: JSON.stringify(event) }]);
    } catch (error) {
      this.#logger.warn({ err: error, tenant, type, data }, 'could not store a system event');
    }
  }
}

/**
 * Whether an endpoint gets a system event: only when its filters ask for `com.tenantcast.` types
 * explicitly (a `type` they name, exactly or as a prefix, outside a `not`), and never the events
 * about itself, so that a failing endpoint cannot feed itself a loop of its own failures.
 */
export function wantsSystemEvent(endpoint: { id: string; filters: readonly unknown[] }, event: { data?: unknown }): boolean {
  if ((event.data as { endpointId?: unknown } | undefined)?.endpointId === endpoint.id) return false;
  return namesSystemType(endpoint.filters);
}

function namesSystemType(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(namesSystemType);
  if (node === null || typeof node !== 'object') return false;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'type' && typeof value === 'string' && value.startsWith(SYSTEM_EVENT_PREFIX)) return true;
    // What a `not` names is left out, not asked for.
    if (key !== 'not' && namesSystemType(value)) return true;
  }
  return false;
}

/** Whether `type` is a tenantcast system event's. */
export function isSystemEvent(type: unknown): boolean {
  return typeof type === 'string' && type.startsWith(SYSTEM_EVENT_PREFIX);
}
