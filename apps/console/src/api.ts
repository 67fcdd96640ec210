import type { DeliveryAttemptInfo, DeliveryInfo, Filter, WebhookEndpointInfo } from '@tenantcast/sdk';

// The relay's API as the console calls it: same origin, relative `/v1/...` URLs, the token as a
// Bearer header. Errors carry the relay's own message, which says what to change.

export type { DeliveryAttemptInfo, DeliveryInfo, Filter, WebhookEndpointInfo };

/** A refused call: the relay's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One stored event of the history API. */
export interface StoredEvent {
  offset: string;
  event: Record<string, unknown> & { id?: string; type?: string; source?: string; time?: string };
}

/** Calls the relay as the signed-in token, for one tenant. */
export class Api {
  constructor(
    readonly token: string,
    readonly tenant: string,
  ) {}

  /** Sends a JSON call; resolves with the parsed answer (undefined for 204). */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`/v1/tenants/${encodeURIComponent(this.tenant)}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(response.status, error?.code ?? 'HTTP', error?.message ?? `HTTP ${response.status} from ${path}`);
    }
    return parsed as T;
  }

  /** The page of stored events just before `before` (an offset, or `end`), oldest first. */
  eventsBefore(before: string, limit: number): Promise<{ events: StoredEvent[]; previous: string | null }> {
    return this.call('GET', `/events?before=${encodeURIComponent(before)}&limit=${limit}`);
  }

  endpoints(): Promise<{ webhooks: WebhookEndpointInfo[] }> {
    return this.call('GET', '/webhooks');
  }

  deliveries(endpointId: string, status: string, cursor: string | null): Promise<{ deliveries: DeliveryInfo[]; next: string | null }> {
    const query = new URLSearchParams({ limit: '20' });
    if (status !== '') query.set('status', status);
    if (cursor !== null) query.set('cursor', cursor);
    return this.call('GET', `/webhooks/${encodeURIComponent(endpointId)}/deliveries?${query}`);
  }

  delivery(endpointId: string, deliveryId: string): Promise<DeliveryInfo & { attemptLog: DeliveryAttemptInfo[] }> {
    return this.call('GET', `/webhooks/${encodeURIComponent(endpointId)}/deliveries/${encodeURIComponent(deliveryId)}`);
  }
}

/** The message to show for a failed call. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code}, HTTP ${error.status})`;
  return error instanceof Error ? error.message : String(error);
}
