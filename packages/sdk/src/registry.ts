import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { describeIssues, TenantcastError, type ValidationIssue } from './errors.ts';
import { type CloudEvent, CloudEventEnvelope } from './schemas/envelope.ts';
import type { EventOf, QlikEventMap } from './schemas/qlik-events.ts';
import {
  WebIntegrationCreatedData,
  WebIntegrationDeletedData,
  WebIntegrationTypes,
  WebIntegrationUpdatedData,
} from './schemas/web-integration.ts';
import { DeliveryExhaustedData, EndpointDisabledData, EndpointEnabledData, WebhookEventTypes } from './schemas/webhook-events.ts';

/** How many validator errors are kept per value; enough to fix it, bounded against hostile input. */
const MAX_ISSUES = 20;

/** The outcome of validating one value. */
export type ValidationResult<TEvent> = { ok: true; event: TEvent } | { ok: false; issues: ValidationIssue[] };

export interface RegistryOptions {
  /** Refuse events whose `type` has no registered schema. Default: false (envelope validation only). */
  strict?: boolean;
}

const envelopeValidator = Compile(CloudEventEnvelope);

function collectIssues(validator: Validator<any, any>, value: unknown, prefix = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of validator.Errors(value)) {
    const required = error.keyword === 'required' ? (error.params as { requiredProperties?: unknown }).requiredProperties : undefined;
    if (Array.isArray(required)) {
      // TypeBox reports missing properties at their parent; point at each missing member instead (RFC 6901 escaping).
      for (const name of required) {
        const token = String(name).replaceAll('~', '~0').replaceAll('/', '~1');
        issues.push({ path: `${prefix}${error.instancePath}/${token}`, message: 'is required' });
      }
    } else {
      issues.push({ path: prefix + error.instancePath, message: error.message });
    }
    if (issues.length >= MAX_ISSUES) break;
  }
  return issues.slice(0, MAX_ISSUES);
}

/** True when a `datacontenttype` means JSON data (absent means JSON in the JSON event format). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const essence = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return essence === 'application/json' || essence === 'text/json' || essence.endsWith('+json');
}

/**
 * Event types and their `data` schemas, one schema per type. Unknown types get envelope validation
 * only, unless the registry is strict.
 * @example
 * const registry = createRegistry().register('com.example.order.placed', Type.Object({ orderId: Type.String() }));
 * const result = registry.validate(body);
 */
export class EventRegistry<TMap extends object = QlikEventMap> {
  readonly #data = new Map<string, Validator<any, any>>();
  readonly #strict: boolean;

  constructor(options: RegistryOptions = {}) {
    this.#strict = options.strict ?? false;
  }

  /** Whether unknown types are refused. */
  get strict(): boolean {
    return this.#strict;
  }

  /** Adds an event type with the schema of its `data`. Each type may be registered once. */
  register<TType extends string, TData extends TSchema>(
    type: TType,
    dataSchema: TData,
  ): EventRegistry<TMap & { [K in TType]: Static<TData> }> {
    if (this.#data.has(type)) {
      throw new TenantcastError('TC_ERR_TYPE_REGISTERED', `Event type "${type}" is registered already; register each type once.`);
    }
    this.#data.set(type, Compile(dataSchema));
    return this as unknown as EventRegistry<TMap & { [K in TType]: Static<TData> }>;
  }

  /** Whether `type` has a registered schema. */
  has(type: string): boolean {
    return this.#data.has(type);
  }

  /** The registered types. */
  types(): string[] {
    return [...this.#data.keys()];
  }

  /** Validates one value as a CloudEvent, and its `data` when its type is known. Issues carry JSON Pointer paths. */
  validate(value: unknown): ValidationResult<EventOf<TMap> | CloudEvent> {
    if (!envelopeValidator.Check(value)) return { ok: false, issues: collectIssues(envelopeValidator, value) };
    const event = value as CloudEvent;
    if (event.data !== undefined && event.data_base64 !== undefined) {
      return { ok: false, issues: [{ path: '/data_base64', message: 'must not be present together with "data"; send one of them' }] };
    }
    const dataValidator = this.#data.get(event.type);
    if (dataValidator === undefined) {
      if (this.#strict) {
        return {
          ok: false,
          issues: [{ path: '/type', message: `unknown event type "${event.type}"; register its schema, or turn strict mode off` }],
        };
      }
      return { ok: true, event };
    }
    if (!isJsonContentType(event.datacontenttype) || event.data_base64 !== undefined) {
      return {
        ok: false,
        issues: [
          { path: '/datacontenttype', message: `events of type "${event.type}" carry JSON data; send datacontenttype application/json` },
        ],
      };
    }
    if (!dataValidator.Check(event.data)) return { ok: false, issues: collectIssues(dataValidator, event.data, '/data') };
    return { ok: true, event };
  }

  /** Validates a batch: every issue carries the `index` of its event. */
  validateBatch(values: readonly unknown[]): ValidationResult<Array<EventOf<TMap> | CloudEvent>> {
    const issues: ValidationIssue[] = [];
    for (let index = 0; index < values.length && issues.length < MAX_ISSUES; index++) {
      const result = this.validate(values[index]);
      if (!result.ok) for (const issue of result.issues) issues.push({ index, ...issue });
    }
    if (issues.length > 0) return { ok: false, issues: issues.slice(0, MAX_ISSUES) };
    return { ok: true, event: values as Array<EventOf<TMap> | CloudEvent> };
  }

  /** Validates and returns the event, or throws a `TenantcastError` whose `details` list the issues. */
  parse(value: unknown): EventOf<TMap> | CloudEvent {
    const result = this.validate(value);
    if (!result.ok) {
      throw new TenantcastError('TC_ERR_VALIDATION', `Invalid CloudEvent: ${describeIssues(result.issues)}`, {
        details: result.issues,
      });
    }
    return result.event;
  }
}

/** A registry that knows Qlik's web-integration events (both type families). */
export function createRegistry(options: RegistryOptions = {}): EventRegistry<QlikEventMap> {
  const registry = new EventRegistry<{}>(options);
  for (const type of WebIntegrationTypes.created) registry.register(type, WebIntegrationCreatedData);
  for (const type of WebIntegrationTypes.updated) registry.register(type, WebIntegrationUpdatedData);
  for (const type of WebIntegrationTypes.deleted) registry.register(type, WebIntegrationDeletedData);
  registry.register(WebhookEventTypes.exhausted, DeliveryExhaustedData);
  registry.register(WebhookEventTypes.disabled, EndpointDisabledData);
  registry.register(WebhookEventTypes.enabled, EndpointEnabledData);
  return registry as unknown as EventRegistry<QlikEventMap>;
}

/** The registry `createEvent` and the relay use unless given another. */
export const defaultRegistry: EventRegistry<QlikEventMap> = createRegistry();
