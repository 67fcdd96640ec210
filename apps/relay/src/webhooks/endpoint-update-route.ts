import { type Filter, WebhookEventTypes } from '@tenantcast/sdk';
import { ServiceError } from '@tenantcast/server';
import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { catchUp } from './endpoint-catch-up.ts';
import { checkDescription, checkFilters, checkUrl, endpointOf, onlyFields, parseJson, requireAdmin, view } from './endpoint-requests.ts';
import type { EndpointChange, WebhookEndpoint } from './endpoint-store.ts';

type EndpointRoute = { Params: { tenantid: string; id: string } };

/** A rotation's default overlap, in seconds: a day, as Svix's. */
const DEFAULT_GRACE_SECONDS = 86_400;
/** The longest overlap: a leaked secret must stop working within a week whatever the caller asks. */
const MAX_GRACE_SECONDS = 7 * 86_400;

/** What a PATCH may change; absent fields stay as they are. */
interface EndpointPatch {
  url?: string;
  filters?: Filter[];
  description?: string;
  disabled?: boolean;
}

/**
 * An endpoint's lifecycle, for tokens with `admin` scope over the tenant:
 * `PATCH /v1/tenants/{t}/webhooks/{id}` (url, filters, description; disable and enable again) and
 * `POST /v1/tenants/{t}/webhooks/{id}/secret/rotate`. Both keep the endpoint's id and its position
 * in the stream (`createdAt`), so no event is skipped, and change it in one compare-and-set
 * (endpoint-store.ts's `update`), so concurrent calls do not lose each other's fields.
 */
export function registerEndpointUpdateRoutes(app: FastifyInstance, ctx: RelayContext): void {
  const { webhooks, systemEvents } = ctx.delivery;
  const replayDeps = ctx.delivery.replay;
  const onRequest = requireAdmin(ctx);

  app.patch<EndpointRoute>('/v1/tenants/:tenantid/webhooks/:id', { onRequest }, async (request) => {
    const { tenantid: tenant, id } = request.params;
    await endpointOf(ctx, tenant, id);
    const patch = checkPatch(parseJson(request), ctx.config.webhookAllowPrivate);
    // Where it stops is read before the write: resume-point.ts says why that loses nothing.
    const stoppedAt = patch.disabled === true ? await webhooks.resumePoint(tenant, id) : null;
    const { before, after } = found(await webhooks.update(tenant, id, (e) => applyPatch(e, patch, stoppedAt)), tenant, id);
    if (!before.disabled && after.disabled) {
      await systemEvents.emit(tenant, WebhookEventTypes.disabled, { endpointId: id, reason: 'manual' });
    }
    if (!before.disabled || after.disabled) return view(after, false);
    // Enabled again: what it missed first, then the event saying so (which is not for it anyway).
    const resumed = await catchUp(replayDeps, tenant, after, before.stoppedAt);
    await systemEvents.emit(tenant, WebhookEventTypes.enabled, { endpointId: id });
    return { ...view(after, false), resumed };
  });

  app.post<EndpointRoute>('/v1/tenants/:tenantid/webhooks/:id/secret/rotate', { onRequest }, async (request) => {
    const { tenantid: tenant, id } = request.params;
    await endpointOf(ctx, tenant, id);
    const body = parseJson(request);
    onlyFields(body, ['graceSeconds'], 'a rotation');
    const grace = body.graceSeconds === undefined ? DEFAULT_GRACE_SECONDS : body.graceSeconds;
    if (!Number.isSafeInteger(grace) || (grace as number) < 0 || (grace as number) > MAX_GRACE_SECONDS) {
      throw new ServiceError(
        'TC_ERR_VALIDATION',
        `"graceSeconds" must be a whole number of seconds from 0 (no overlap) to ${MAX_GRACE_SECONDS} (7 days); default ${DEFAULT_GRACE_SECONDS}.`,
        { details: [{ path: '/graceSeconds', message: `must be an integer from 0 to ${MAX_GRACE_SECONDS}` }] },
      );
    }
    const { after } = found(await webhooks.rotateSecret(tenant, id, grace as number), tenant, id);
    return { secret: after.secret, previousSecretExpiresAt: after.previousSecretExpiresAt };
  });
}

/** A PATCH body, each field checked as a create checks it. */
function checkPatch(body: Record<string, unknown>, allowPrivate: boolean): EndpointPatch {
  onlyFields(body, ['url', 'filters', 'description', 'disabled'], 'an update');
  if (body.disabled !== undefined && typeof body.disabled !== 'boolean') {
    throw new ServiceError('TC_ERR_VALIDATION', '"disabled" must be true (stop deliveries) or false (resume them).', {
      details: [{ path: '/disabled', message: 'must be boolean' }],
    });
  }
  const patch: EndpointPatch = {};
  if (body.url !== undefined) patch.url = checkUrl(body.url, allowPrivate);
  if (body.filters !== undefined) patch.filters = checkFilters(body.filters);
  if (body.description !== undefined) patch.description = checkDescription(body.description);
  if (body.disabled !== undefined) patch.disabled = body.disabled as boolean;
  return patch;
}

/**
 * The endpoint with the patch applied, or undefined when that changes nothing. A new URL restarts
 * the failure clock (it is another receiver); enabling clears the reason, the clock and the resume
 * point (the caller replays from the one it read).
 */
function applyPatch(current: WebhookEndpoint, patch: EndpointPatch, stoppedAt: string | null): WebhookEndpoint | undefined {
  const next: WebhookEndpoint = { ...current };
  if (patch.url !== undefined && patch.url !== current.url) Object.assign(next, { url: patch.url, failingSince: null });
  if (patch.filters !== undefined) next.filters = patch.filters;
  if (patch.description !== undefined) next.description = patch.description;
  if (patch.disabled === true && !current.disabled) {
    const detail = `disabled through the API at ${new Date().toISOString()}`;
    Object.assign(next, { disabled: true, disabledReason: 'manual', disabledDetail: detail, stoppedAt });
  }
  if (patch.disabled === false && current.disabled) {
    Object.assign(next, { disabled: false, disabledReason: null, disabledDetail: null, stoppedAt: null, failingSince: null });
  }
  return JSON.stringify(next) === JSON.stringify(current) ? undefined : next;
}

/** The change, or 404 when the endpoint was deleted while it was being changed. */
function found(change: EndpointChange | undefined, tenant: string, id: string): EndpointChange {
  if (change === undefined) throw new ServiceError('TC_ERR_NOT_FOUND', `Tenant "${tenant}" has no webhook endpoint "${id.slice(0, 80)}".`);
  return change;
}
