import type { CloudEvent, EventRegistry } from '@tenantcast/sdk';
import { exceedsDepth, MAX_JSON_DEPTH } from '@tenantcast/sdk';
import type { AppendResult, EventStore } from '@tenantcast/server';
import { type ErrorDetail, RelayError } from '../errors.ts';
import type { ParsedRequest } from './http-binding.ts';
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
  store: EventStore;
  registry: EventRegistry<any>;
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

  const tooDeep = events.flatMap((event, index) => (exceedsDepth(event) ? [index] : []));
  if (tooDeep.length > 0) {
    throw new RelayError(
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
    throw new RelayError(
      'TC_ERR_VALIDATION',
      `Invalid CloudEvent: ${where} ${first.message}; see details for every issue. Nothing was stored.`,
      {
        details,
      },
    );
  }
  const valid = checked.event as CloudEvent[];

  const tenant = valid[0]!.tenantid;
  const others = valid.flatMap((e, index) =>
    e.tenantid === tenant ? [] : [{ index, path: '/tenantid', message: `is "${e.tenantid}", not "${tenant}"` }],
  );
  if (others.length > 0) {
    throw new RelayError(
      'TC_ERR_MIXED_TENANTS',
      `A batch holds one tenant's events, but this one mixes "${tenant}" with others; send one batch per tenant. Nothing was stored.`,
      {
        details: others.slice(0, 20),
      },
    );
  }
  if (!canPublish(tenant)) {
    throw new RelayError(
      'TC_ERR_FORBIDDEN_TENANT',
      `The token does not grant publishing to tenant "${tenant}"; mint one whose "tenants" claim holds it.`,
    );
  }

  const results = await deps.store.append(
    tenant,
    valid.map((event) => ({ source: event.source, id: event.id, json: JSON.stringify(event), origins: originsChange(event) })),
  );
  return {
    accepted: valid.map((event, i) => ({ id: event.id, source: event.source, ...results[i]! })),
  };
}
