import { defaultRegistry, type EventRegistry } from './registry.ts';
import type { CloudEvent, EventFields } from './schemas/envelope.ts';
import type { QlikEventMap } from './schemas/qlik-events.ts';

/**
 * Builds and validates a CloudEvent: `id` (a UUID), `time` (now) and `specversion` are filled in
 * unless given. Throws a `TenantcastError` (`TC_ERR_VALIDATION`) whose `details` carry JSON paths.
 * @example
 * const event = createEvent('com.qlik.web-integration.deleted', {
 *   source: 'com.example/admin', tenantid: 'acme', data: { id: 'wi-1' },
 * });
 */
export function createEvent<TMap extends object = QlikEventMap, TType extends string = keyof TMap & string>(
  type: TType,
  fields: EventFields<TType extends keyof TMap ? TMap[TType] : unknown>,
  registry: EventRegistry<TMap> = defaultRegistry as unknown as EventRegistry<TMap>,
): CloudEvent<TType, TType extends keyof TMap ? TMap[TType] : unknown> {
  const event = {
    ...fields,
    specversion: '1.0' as const,
    id: fields.id ?? globalThis.crypto.randomUUID(),
    time: fields.time ?? new Date().toISOString(),
    type,
  };
  registry.parse(event);
  return event as CloudEvent<TType, TType extends keyof TMap ? TMap[TType] : unknown>;
}
