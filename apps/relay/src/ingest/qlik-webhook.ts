import { createHmac, timingSafeEqual } from 'node:crypto';
import { ServiceError } from '@tenantcast/server';

/**
 * Checks `Qlik-Signature`: the hex HMAC-SHA256 of the raw body, keyed with the webhook's secret
 * (qlik.dev, "Verify webhook payload signature"). Compared in constant time.
 */
export function verifyQlikSignature(body: Buffer, signature: string | undefined, secret: string): void {
  if (signature === undefined || signature === '') {
    throw new ServiceError(
      'TC_ERR_SIGNATURE_INVALID',
      'The Qlik-Signature header is missing; Qlik sends it when the webhook has a secret.',
    );
  }
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = /^[0-9a-fA-F]{64}$/.test(signature.trim()) ? Buffer.from(signature.trim(), 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ServiceError('TC_ERR_SIGNATURE_INVALID');
  }
}

/** Legacy attribute → CloudEvents 1.0 attribute (docs/qlik-webhooks.md documents the mapping). */
const LEGACY_ATTRIBUTES: Record<string, string> = {
  eventId: 'id',
  eventType: 'type',
  eventTime: 'time',
  contentType: 'datacontenttype',
  eventTypeVersion: 'eventtypeversion',
};

/** Legacy envelope fields that have no CloudEvents 1.0 counterpart and are dropped. */
const LEGACY_DROPPED = new Set(['cloudEventsVersion', 'extensions']);

const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value));
}

/**
 * Normalizes a Qlik webhook body to CloudEvents 1.0. It takes a CloudEvent as is, Qlik's legacy
 * envelope (`cloudEventsVersion`, `eventId`, `eventType`, `eventTime`, `extensions.tenantId`, …),
 * and the hybrid of both, where the CloudEvents attributes win.
 */
export function normalizeQlikEvent(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const input = body as Record<string, unknown>;
  const isLegacy = 'cloudEventsVersion' in input || 'eventId' in input || 'eventType' in input;
  if (!isLegacy) return input;

  const event: Record<string, unknown> = {};
  const extensions = input.extensions;
  if (extensions !== null && typeof extensions === 'object' && !Array.isArray(extensions)) {
    for (const [name, value] of Object.entries(extensions as Record<string, unknown>)) {
      const lower = name.toLowerCase();
      if (EXTENSION_NAME.test(lower) && isScalar(value)) event[lower] = value;
    }
  }
  for (const [name, value] of Object.entries(input)) {
    if (LEGACY_DROPPED.has(name)) continue;
    const target = LEGACY_ATTRIBUTES[name];
    event[target ?? name] = value;
  }
  // CloudEvents attributes in a hybrid body win over what the legacy ones mapped to.
  for (const target of Object.values(LEGACY_ATTRIBUTES)) if (target in input) event[target] = input[target];
  event.specversion = typeof input.specversion === 'string' ? input.specversion : '1.0';
  return event;
}
