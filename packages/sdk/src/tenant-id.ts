/**
 * What a tenant id may look like. Ids are used inside Redis keys and hash tags,
 * so braces, colons, glob characters and whitespace are excluded; they are never read as a pattern.
 */
export const TENANT_ID_PATTERN = '^[A-Za-z0-9._-]{1,128}$';

const TENANT_ID_RE = new RegExp(TENANT_ID_PATTERN);

/** True when `value` is a valid tenant id. */
export function isTenantId(value: unknown): value is string {
  return typeof value === 'string' && TENANT_ID_RE.test(value);
}
