import { TenantcastError, type ValidationIssue } from '../errors.ts';
import type { Filter } from '../filters/filter.ts';

/** What registers a webhook endpoint. */
export interface WebhookInput {
  url: string;
  /** CloudEvents Subscriptions API filters, all of which must hold. */
  filters?: Filter[];
  description?: string;
}

/** A webhook endpoint as the relay describes it. */
export interface WebhookEndpointInfo {
  id: string;
  tenantid: string;
  url: string;
  filters: Filter[];
  description: string;
  /** Its position in the stream: it gets the events stored after this time; updates keep it. */
  createdAt: string;
  /** Nothing is delivered to a disabled endpoint; `updateWebhook(…, { disabled: false })` resumes it where it stopped. */
  disabled: boolean;
  /** Why it is disabled: `gone` (it answered 410), `failing` (every attempt failed for WEBHOOK_DISABLE_AFTER_SECONDS), `manual`; null while enabled. */
  disabledReason: 'gone' | 'failing' | 'manual' | null;
  /** The same, for people: which answer, since when. */
  disabledDetail: string | null;
  /** While disabled, the offset after which events will be delivered when it is enabled again. */
  stoppedAt: string | null;
  /** When its current run of failed attempts began (ISO time); null after a success. */
  failingSince: string | null;
  /** Until when deliveries are also signed with the secret before the last rotation; null if never rotated. */
  previousSecretExpiresAt: string | null;
}

/** What `updateWebhook` changes; absent fields stay as they are. */
export interface WebhookPatch {
  url?: string;
  filters?: Filter[];
  description?: string;
  /** true stops deliveries (reason `manual`); false resumes a disabled endpoint from where it stopped. */
  disabled?: boolean;
}

/** What enabling an endpoint again queued of the events it missed. */
export interface WebhookCatchUp {
  /** The offset it resumed after (`0`: retention had trimmed events since it stopped; null: unknown). */
  from: string | null;
  enqueued: number;
  merged: number;
  /** False when the tenant's cap of deliveries outstanding stopped it: replay with `after: last` later. */
  complete: boolean;
  last: string | null;
}

/** The error body every tenantcast server answers with. */
export interface ErrorBody {
  error?: { code?: string; message?: string; details?: ValidationIssue[] };
}

/** What a JSON API call needs of its client. */
export interface ApiSettings {
  /** The relay's base URL, ending in `/`. */
  base: string;
  token: string | (() => string | Promise<string>);
  timeoutMs: number;
  fetch: typeof fetch;
}

/** One JSON API call to the relay; a non-2xx answer becomes a TenantcastError with the relay's code and message. */
export async function callRelay<T>(settings: ApiSettings, method: string, path: string, body?: unknown): Promise<T> {
  const token = typeof settings.token === 'function' ? await settings.token() : settings.token;
  let response: Response;
  try {
    response = await settings.fetch(new URL(path, settings.base).href, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (cause) {
    throw new TenantcastError(
      'TC_ERR_REQUEST_FAILED',
      `${method} ${path} failed: ${(cause as Error)?.message}; is the relay at ${settings.base} up?`,
      {
        cause,
      },
    );
  }
  if (response.status === 204) return undefined as T;
  const payload = (await response.json().catch(() => ({}))) as T & ErrorBody;
  if (!response.ok) {
    throw new TenantcastError(
      'TC_ERR_REQUEST_FAILED',
      `${response.status} ${payload.error?.code ?? ''}: ${payload.error?.message ?? response.statusText}`.trim(),
      { status: response.status, details: payload.error?.details ?? [] },
    );
  }
  return payload;
}

/** The UTF-8 length of a string, without encoding it (works in browsers too). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Where a webhook delivery stands: queued or waiting for a retry, delivered, or failed for good. */
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One delivery of one event to one endpoint, as the relay's delivery log shows it. */
export interface DeliveryInfo {
  /** The delivery's `webhook-id`, `msg_<tenant>_<offset>`: the receiver's dedupe key too. */
  id: string;
  endpointId: string;
  /** The event's offset in the tenant's stream. */
  offset: string;
  eventId: string | null;
  eventType: string | null;
  status: DeliveryStatus;
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  /** When the next attempt is due; null once the delivery finished. */
  nextAttemptAt: string | null;
  /** The last HTTP status; null when no answer came. */
  lastStatus: number | null;
  /** One line: `HTTP 500: <start of body>`, `timeout after 15000 ms`, `refused: …`, `event trimmed before delivery`. */
  lastError: string | null;
}

/** One attempt of a delivery. */
export interface DeliveryAttemptInfo {
  at: string;
  /** The HTTP status; null when no answer came. */
  status: number | null;
  durationMs: number;
  error: string | null;
  /** The first 1 KiB of the answer's body, as text; null when no answer came. */
  responseBody: string | null;
}
