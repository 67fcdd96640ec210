import { TenantcastError } from '../errors.ts';

/** What a webhook request carries to be verified (Standard Webhooks: webhook-id, -timestamp, -signature). */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** A new endpoint secret: `whsec_` and 24 random bytes in base64 (Standard Webhooks, "Signature scheme"). */
export function generateWebhookSecret(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  return `whsec_${toBase64(bytes)}`;
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  const encoded = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  let key: Uint8Array;
  try {
    key = fromBase64(encoded);
  } catch (cause) {
    throw new TenantcastError('TC_ERR_BAD_OPTIONS', 'A webhook secret is "whsec_" followed by base64; copy it as the relay returned it.', {
      cause,
    });
  }
  return globalThis.crypto.subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** The `v1,<base64>` signature of `${id}.${timestamp}.${body}` with HMAC-SHA256 (Standard Webhooks). */
export async function signWebhook(id: string, timestamp: number, body: string, secret: string): Promise<string> {
  const key = await hmacKey(secret);
  const mac = await globalThis.crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

function header(headers: Headers | Record<string, string | string[] | undefined>, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? record[name.toLowerCase()] ?? Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
}

/** Compares two strings in time that does not depend on where they differ. */
function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Verifies a webhook tenantcast delivered: the signature over the raw body, and a timestamp within
 * `toleranceSeconds` (default 300) of now, against replays. Throws a `TenantcastError`
 * (`TC_ERR_WEBHOOK_SIGNATURE`) that says what failed; resolves with the parsed CloudEvent.
 * @example
 * app.post('/hook', async (req, res) => {
 *   const event = await verifyWebhook(req.headers, req.rawBody, process.env.WEBHOOK_SECRET!);
 * });
 */
export async function verifyWebhook(
  headers: Headers | Record<string, string | string[] | undefined>,
  body: string | Uint8Array,
  secret: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): Promise<Record<string, unknown>> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new TenantcastError('TC_ERR_WEBHOOK_SIGNATURE', 'Missing webhook-id, webhook-timestamp or webhook-signature header.');
  }
  const seconds = Number(timestamp);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (!/^\d+$/.test(timestamp) || Math.abs(now - seconds) > tolerance) {
    throw new TenantcastError(
      'TC_ERR_WEBHOOK_SIGNATURE',
      `webhook-timestamp is more than ${tolerance} s from now; check the clock, or this is a replay.`,
    );
  }
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  const expected = await signWebhook(id, seconds, text, secret);
  // The header may hold several space-separated signatures (secret rotation).
  const matches = signatures.split(' ').some((candidate) => equalConstantTime(candidate, expected));
  if (!matches) throw new TenantcastError('TC_ERR_WEBHOOK_SIGNATURE', 'No webhook-signature matches; check the endpoint secret.');
  return JSON.parse(text) as Record<string, unknown>;
}
