import type { CloudEvent, EventRegistry } from '@tenantcast/sdk';
import { exceedsDepth, MAX_JSON_DEPTH, SYSTEM_EVENT_PREFIX } from '@tenantcast/sdk';
import type { AppendResult, ErrorDetail, StoredEventInput, StreamAppender } from '@tenantcast/server';
import { ServiceError } from '@tenantcast/server';
import type { ParsedRequest } from './http-binding.ts';
import type { SingleAppends } from './single-appends.ts';
import { originsChange } from './web-integration-origins.ts';

/** One accepted event, as the 202 answer lists it. */
export interface AcceptedEvent extends AppendResult {
  id: string;
  source: string;
}

/** The 202 answer: one item per event, in request order. */
export interface AcceptedBody {
  accepted: AcceptedEvent[];
}

export interface IngestDeps {
  appender: StreamAppender;
  /** Stores the single events of one tenant and turn with one script call. */
  singleAppends: SingleAppends;
  registry: EventRegistry<any>;
}

/** What the store keeps of an event: its JSON text, serialized once here. */
function storedInput(event: CloudEvent): StoredEventInput {
  return { source: event.source, id: event.id, json: JSON.stringify(event), origins: originsChange(event) };
}

/**
 * Validates a request's events, checks the tenant is granted, and stores them in one atomic write.
 * All or nothing: any invalid event refuses the whole request, and nothing is stored.
 */
export async function ingestEvents(
  request: ParsedRequest,
  canPublish: (tenant: string) => boolean,
  deps: IngestDeps,
): Promise<AcceptedBody> {
  const { events, batch } = request;
  if (events.length === 0) return { accepted: [] };
  // Before validation: a batch over the cap, or of a tenant Redis refused this second, costs no more than its parse.
  deps.appender.checkBatch(events.length);
  const claimed = (events[0] as { tenantid?: unknown } | null)?.tenantid;
  if (
    typeof claimed === 'string' &&
    canPublish(claimed) &&
    events.every((e) => (e as { tenantid?: unknown } | null)?.tenantid === claimed)
  ) {
    deps.appender.checkRate(claimed, events.length);
  }

  const tooDeep: number[] = [];
  for (let index = 0; index < events.length; index++) if (exceedsDepth(events[index])) tooDeep.push(index);
  if (tooDeep.length > 0) {
    throw new ServiceError(
      'TC_ERR_VALIDATION',
      `Events nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep; flatten the data. Nothing was stored.`,
      {
        details: tooDeep
          .slice(0, 20)
          .map((index) => ({ ...(batch ? { index } : {}), path: '', message: `nests deeper than ${MAX_JSON_DEPTH} levels` })),
      },
    );
  }
  const checked = deps.registry.validateBatch(events);
  if (!checked.ok) {
    const details: ErrorDetail[] = batch ? checked.issues : checked.issues.map(({ index: _, ...rest }) => rest);
    const first = details[0]!;
    const where = first.index === undefined ? first.path || '/' : `event ${first.index} at ${first.path || '/'}`;
    throw new ServiceError(
      'TC_ERR_VALIDATION',
      `Invalid CloudEvent: ${where} ${first.message}; see details for every issue. Nothing was stored.`,
      {
        details,
      },
    );
  }
  const valid = checked.event as CloudEvent[];
  refuseReservedTypes(valid, batch);

  const tenant = valid[0]!.tenantid;
  const others: ErrorDetail[] = [];
  for (let index = 1; index < valid.length; index++) {
    const e = valid[index]!;
    if (e.tenantid !== tenant) others.push({ index, path: '/tenantid', message: `is "${e.tenantid}", not "${tenant}"` });
  }
  if (others.length > 0) {
    throw new ServiceError(
      'TC_ERR_MIXED_TENANTS',
      `A batch holds one tenant's events, but this one mixes "${tenant}" with others; send one batch per tenant. Nothing was stored.`,
      {
        details: others.slice(0, 20),
      },
    );
  }
  if (!canPublish(tenant)) {
    throw new ServiceError(
      'TC_ERR_FORBIDDEN_TENANT',
      `The token does not grant publishing to tenant "${tenant}"; mint one whose "tenants" claim holds it.`,
    );
  }

  if (valid.length === 1) {
    // One event: stored together with the other single events of this tenant in this turn.
    const event = valid[0]!;
    const result = await deps.singleAppends.append(tenant, storedInput(event));
    return { accepted: [{ id: event.id, source: event.source, ...result }] };
  }
  const results = await deps.appender.append(tenant, valid.map(storedInput));
  return {
    accepted: valid.map((event, i) => {
      const { offset, duplicate } = results[i]!;
      return { id: event.id, source: event.source, offset, duplicate };
    }),
  };
}

/**
 * `com.tenantcast.` types are the relay's own events about webhooks (webhooks/system-events.ts):
 * subscribers and endpoints must be able to trust one, so no publisher may send one.
 */
function refuseReservedTypes(events: readonly CloudEvent[], batch: boolean): void {
  const reserved: ErrorDetail[] = [];
  for (let index = 0; index < events.length; index++) {
    const type = events[index]!.type;
    if (type.startsWith(SYSTEM_EVENT_PREFIX)) {
      reserved.push({ ...(batch ? { index } : {}), path: '/type', message: `"${type}" is a reserved type` });
    }
  }
  if (reserved.length === 0) return;
  throw new ServiceError(
    'TC_ERR_VALIDATION',
    `Event types starting with "${SYSTEM_EVENT_PREFIX}" are the relay's own events (docs/webhooks.md, "System events"); publish yours under another prefix. Nothing was stored.`,
    { details: reserved.slice(0, 20) },
  );
}
