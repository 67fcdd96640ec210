import { TenantcastError } from '@tenantcast/sdk';
import { type Scope, type TokenClaims, timesOf } from '@tenantcast/sdk/tokens';

/**
 * Where an identity provider's token carries what tenantcast reads (the AUTH_*_CLAIM settings). Tokens
 * signed with TENANTCAST_SECRET are tenantcast's own and keep its claim names (`scope`, `tenants`);
 * only tokens verified with a JWKS key are mapped.
 */
export interface ClaimsMapping {
  /** The claim holding the granted tenant ids, a string or an array of them (AUTH_TENANTS_CLAIM). */
  tenantsClaim: string;
  /** The claim holding the scopes, a space-separated string or an array (AUTH_SCOPE_CLAIM). */
  scopeClaim: string;
  /** The scopes of a token whose scope claim holds none of tenantcast's (AUTH_DEFAULT_SCOPE); may be empty. */
  defaultScopes: readonly Scope[];
}

export const DEFAULT_CLAIMS_MAPPING: ClaimsMapping = { tenantsClaim: 'tenants', scopeClaim: 'scope', defaultScopes: ['subscribe'] };

/**
 * The scope values an identity provider's token may carry, and what each grants. `admin` alone is
 * not one of them: identity providers hand out roles named "admin" for their own purposes, so
 * tenantcast's admin needs the explicit `tenantcast:admin`.
 */
const MAPPED_SCOPES: ReadonlyMap<string, Scope> = new Map<string, Scope>([
  ['publish', 'publish'],
  ['subscribe', 'subscribe'],
  ['tenantcast:publish', 'publish'],
  ['tenantcast:subscribe', 'subscribe'],
  ['tenantcast:admin', 'admin'],
]);

/** The scope value an identity provider's token needs, with tenants `*`, to be granted every tenant. */
export const ALL_TENANTS_SCOPE = 'tenantcast:admin';

const TENANT_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Reads a claim: by its whole name first (namespaced claims such as `https://qlik.example/tenants`
 * hold dots), else as a dotted path into nested objects (`app_metadata.tenants`).
 */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (path in payload) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function invalid(message: string): TenantcastError {
  return new TenantcastError('TC_ERR_TOKEN_INVALID', message, { status: 401 });
}

/** A claim's values: a string's space-separated words, or an array's strings; `undefined` for another type. */
function valuesOf(value: unknown, split: boolean): string[] | undefined {
  if (typeof value === 'string') return split ? value.split(' ').filter((v) => v !== '') : [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/**
 * The claims of an identity provider's verified token, read through `mapping`. Refuses (401
 * TC_ERR_TOKEN_INVALID, naming the setting) a token without `sub`, without its tenants claim, or
 * with one of the wrong type; tenants `*` count only beside the `tenantcast:admin` scope value, so
 * that no mapping alone grants every tenant.
 */
export function mapClaims(payload: Record<string, unknown>, mapping: ClaimsMapping): TokenClaims {
  const { sub } = payload;
  if (typeof sub !== 'string' || sub === '') throw invalid('Token lacks a "sub" claim.');

  const rawScopes = claimAt(payload, mapping.scopeClaim);
  const scopeValues = rawScopes === undefined ? [] : valuesOf(rawScopes, true);
  if (scopeValues === undefined) {
    throw invalid(`Token claim "${mapping.scopeClaim}" (AUTH_SCOPE_CLAIM) must be a space-separated string or an array of strings.`);
  }
  const granted = scopeValues.flatMap((v) => MAPPED_SCOPES.get(v) ?? []);
  const scopes = new Set<Scope>(granted.length > 0 ? granted : mapping.defaultScopes);

  const rawTenants = claimAt(payload, mapping.tenantsClaim);
  if (rawTenants === undefined) {
    throw invalid(`Token lacks the tenants claim "${mapping.tenantsClaim}" (AUTH_TENANTS_CLAIM); map the claim that holds its tenant ids.`);
  }
  const tenants = valuesOf(rawTenants, false);
  if (tenants === undefined || tenants.length === 0 || !tenants.every((t) => t === '*' || TENANT_ID.test(t))) {
    throw invalid(
      `Token claim "${mapping.tenantsClaim}" (AUTH_TENANTS_CLAIM) must be a tenant id or an array of them, each matching ^[A-Za-z0-9._-]{1,128}$.`,
    );
  }
  if (tenants.includes('*') && !scopeValues.includes(ALL_TENANTS_SCOPE)) {
    throw invalid(`Token grants tenants "*", which a JWKS-signed token may only with the "${ALL_TENANTS_SCOPE}" scope value.`);
  }
  return { sub, scopes, tenants: tenants.includes('*') ? '*' : new Set(tenants), ...timesOf(payload) };
}
