import { randomUUID } from 'node:crypto';

/** A tenant id of the calling test's own, so that tests sharing a relay or a gateway never see each other's events. */
export function uniqueTenant(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** A Redis key prefix of the caller's own (`<label>-<8 hex>:`), so that apps sharing a Redis keep apart. */
export function uniqueKeyPrefix(label = 'test'): string {
  return `${label}-${randomUUID().slice(0, 8)}:`;
}
