import type {
  DeliveryAttemptInfo,
  DeliveryInfo,
  DeliveryStatus,
  WebhookCatchUp,
  WebhookEndpointInfo,
  WebhookInput,
  WebhookPatch,
} from './relay-api.ts';

/**
 * The relay's webhook API as methods of `RelayClient` (which extends this): endpoints, their
 * lifecycle and secrets, replays, and the delivery log. Tokens need `admin` scope over the tenant.
 */
export abstract class WebhookMethods {
  /** One JSON call of the relay's API. */
  protected abstract call<T>(method: string, path: string, body?: unknown): Promise<T>;

  /**
   * Registers an HTTP endpoint for a tenant's events (token scope `admin`). The answer holds the
   * endpoint's signing `secret`, for `verifyWebhook` on the receiving side.
   * @example
   * const { id, secret } = await relay.createWebhook('acme', { url: 'https://hooks.example/tenantcast' });
   */
  createWebhook(tenantid: string, endpoint: WebhookInput): Promise<WebhookEndpointInfo & { secret: string }> {
    return this.call('POST', `v1/tenants/${encodeURIComponent(tenantid)}/webhooks`, endpoint);
  }

  /** Lists a tenant's endpoints, without their secrets. */
  async listWebhooks(tenantid: string): Promise<WebhookEndpointInfo[]> {
    return (await this.call<{ webhooks: WebhookEndpointInfo[] }>('GET', `v1/tenants/${encodeURIComponent(tenantid)}/webhooks`)).webhooks;
  }

  /** One endpoint, with its secret. */
  getWebhook(tenantid: string, id: string): Promise<WebhookEndpointInfo & { secret: string }> {
    return this.call('GET', `v1/tenants/${encodeURIComponent(tenantid)}/webhooks/${encodeURIComponent(id)}`);
  }

  /** Deletes an endpoint. */
  async deleteWebhook(tenantid: string, id: string): Promise<void> {
    await this.call('DELETE', `v1/tenants/${encodeURIComponent(tenantid)}/webhooks/${encodeURIComponent(id)}`);
  }

  /**
   * Changes an endpoint's url, filters or description, or disables it (`disabled: true`) and
   * enables it again (`disabled: false`), which queues the events it missed (`resumed`). The id, the
   * secret and its position in the stream stay: no event is skipped.
   * @example
   * await relay.updateWebhook('acme', id, { url: 'https://hooks.example/v2' });
   * const { resumed } = await relay.updateWebhook('acme', id, { disabled: false });
   */
  updateWebhook(tenantid: string, id: string, patch: WebhookPatch): Promise<WebhookEndpointInfo & { resumed?: WebhookCatchUp }> {
    return this.call('PATCH', `v1/tenants/${encodeURIComponent(tenantid)}/webhooks/${encodeURIComponent(id)}`, patch);
  }

  /**
   * Gives an endpoint a new secret. For `graceSeconds` (default 86,400; 0 for none; at most 7 days)
   * deliveries carry signatures with both, so receivers can switch at their pace.
   * @example
   * const { secret, previousSecretExpiresAt } = await relay.rotateWebhookSecret('acme', id, { graceSeconds: 3600 });
   */
  rotateWebhookSecret(
    tenantid: string,
    id: string,
    options: { graceSeconds?: number } = {},
  ): Promise<{ secret: string; previousSecretExpiresAt: string }> {
    return this.call('POST', `v1/tenants/${encodeURIComponent(tenantid)}/webhooks/${encodeURIComponent(id)}/secret/rotate`, options);
  }

  /**
   * Delivers stored events to an endpoint again: after an offset, or between two RFC 3339 times. A call
   * queues at most the relay's WEBHOOK_REPLAY_MAX_EVENTS; while `complete` is false, call again with `after: last`.
   */
  replayWebhook(
    tenantid: string,
    id: string,
    range: { after?: string; since?: string; until?: string } = {},
  ): Promise<{ replay: string; enqueued: number; merged: number; last: string | null; complete: boolean }> {
    return this.call('POST', `v1/tenants/${encodeURIComponent(tenantid)}/webhooks/${encodeURIComponent(id)}/replay`, range);
  }

  /**
   * An endpoint's deliveries from the relay's delivery log, newest first, one page per iteration
   * (`limit` each, default 50, at most 1000), optionally of one status.
   * @example
   * for await (const page of relay.listDeliveries('acme', id, { status: 'failed' })) {
   *   for (const delivery of page) console.log(delivery.id, delivery.lastError);
   * }
   */
  async *listDeliveries(
    tenantid: string,
    endpointId: string,
    options: { status?: DeliveryStatus; limit?: number } = {},
  ): AsyncGenerator<DeliveryInfo[], void, undefined> {
    const path = `${this.webhookPath(tenantid, endpointId)}/deliveries`;
    let cursor: string | null | undefined;
    do {
      const query = new URLSearchParams();
      if (options.status !== undefined) query.set('status', options.status);
      if (options.limit !== undefined) query.set('limit', String(options.limit));
      if (cursor) query.set('cursor', cursor);
      const text = query.toString();
      const page = await this.call<{ deliveries: DeliveryInfo[]; next: string | null }>('GET', text ? `${path}?${text}` : path);
      yield page.deliveries;
      cursor = page.next;
    } while (cursor);
  }

  /** One delivery, by its id (its `webhook-id`), with every attempt kept (the last 20). */
  getDelivery(tenantid: string, endpointId: string, deliveryId: string): Promise<DeliveryInfo & { attemptLog: DeliveryAttemptInfo[] }> {
    return this.call('GET', `${this.webhookPath(tenantid, endpointId)}/deliveries/${encodeURIComponent(deliveryId)}`);
  }

  /** Sends a delivery again, failed or succeeded, under the same `webhook-id`; it is pending once this resolves. */
  retryDelivery(tenantid: string, endpointId: string, deliveryId: string): Promise<{ id: string; status: 'pending' }> {
    return this.call('POST', `${this.webhookPath(tenantid, endpointId)}/deliveries/${encodeURIComponent(deliveryId)}/retry`);
  }

  /**
   * Sends an endpoint's failed deliveries again, newest first, at most the relay's
   * WEBHOOK_REPLAY_MAX_EVENTS per call: call again while `retried` is that many.
   */
  retryFailedDeliveries(tenantid: string, endpointId: string): Promise<{ retried: number }> {
    return this.call('POST', `${this.webhookPath(tenantid, endpointId)}/deliveries/retry-failed`);
  }

  protected webhookPath(tenantid: string, endpointId: string): string {
    return `v1/tenants/${encodeURIComponent(tenantid)}/webhooks/${encodeURIComponent(endpointId)}`;
  }
}
