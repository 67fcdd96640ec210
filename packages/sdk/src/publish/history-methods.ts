import type { CloudEvent } from '../schemas/envelope.ts';
import { WebhookMethods } from './webhook-methods.ts';

/** One stored event of a tenant's history: its offset in the tenant's stream and the event. */
export interface StoredEvent {
  offset: string;
  event: CloudEvent;
}

/**
 * The relay's history API (`GET /v1/tenants/{t}/events`) as a method of `RelayClient` (which extends
 * this). Tokens need `subscribe` scope over the tenant.
 */
export abstract class HistoryMethods extends WebhookMethods {
  /**
   * A tenant's stored events, oldest first, one page per iteration (`limit` each, default 100, at
   * most 1000), from just after `after` (default `'0'`: the oldest retained event) to the stream's
   * end. A trimmed or unknown `after` rejects with the relay's TC_ERR_OFFSET_EXPIRED or
   * TC_ERR_OFFSET_AHEAD in the message.
   * @example
   * for await (const page of relay.history('acme', { after: '0', limit: 500 })) {
   *   for (const { offset, event } of page) console.log(offset, event.type);
   * }
   */
  async *history(tenantid: string, options: { after?: string; limit?: number } = {}): AsyncGenerator<StoredEvent[], void, undefined> {
    const path = `v1/tenants/${encodeURIComponent(tenantid)}/events`;
    let after: string | null = options.after ?? '0';
    while (after !== null) {
      const query = new URLSearchParams({ after });
      if (options.limit !== undefined) query.set('limit', String(options.limit));
      const page: { events: StoredEvent[]; next: string | null } = await this.call('GET', `${path}?${query}`);
      yield page.events;
      after = page.next;
    }
  }
}
