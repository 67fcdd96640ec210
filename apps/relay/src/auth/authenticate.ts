import type { IncomingHttpHeaders } from 'node:http';
import { type Scope, TenantcastError, type TokenClaims, verifyToken } from '@tenantcast/sdk';
import { RelayError } from '../errors.ts';

/** Reads `Authorization: Bearer <token>` (RFC 6750 §2.1); 401 when absent or of another scheme. */
export function bearerToken(headers: IncomingHttpHeaders): string {
  const header = headers.authorization;
  if (header === undefined || header === '') throw new RelayError('TC_ERR_UNAUTHORIZED');
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw new RelayError('TC_ERR_UNAUTHORIZED', 'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".');
  }
  return match[1]!;
}

interface VerifiedToken {
  /** The secret the token verified with: a relay with another secret must not take this entry. */
  secret: string;
  claims: TokenClaims;
}

/** How many verified tokens are kept; a publisher reuses its token, so a few are enough. */
export const TOKEN_CACHE_SIZE = 10_000;

/**
 * Tokens that verified, by token string, least recently used first. Only successes are kept (a token
 * refused now is refused again, in full, by `verifyToken`), and an entry counts only until the token's
 * `exp`: past it the token is verified again, which refuses it with the SDK's "expired" reason.
 * An HMAC verification through WebCrypto was a sixth of the relay's CPU per single-event request.
 */
const verified = new Map<string, VerifiedToken>();

/** The cached claims of `token` under `secret`, while it has not expired; `undefined` otherwise. */
function cachedClaims(token: string, secret: string): TokenClaims | undefined {
  const entry = verified.get(token);
  if (entry === undefined || entry.secret !== secret) return undefined;
  const { exp } = entry.claims;
  // jose's check, to the second: expired when `exp <= now`.
  if (exp !== undefined && exp <= Math.floor(Date.now() / 1000)) {
    verified.delete(token);
    return undefined;
  }
  // Most recently used last, so that eviction takes the least recently used.
  verified.delete(token);
  verified.set(token, entry);
  return entry.claims;
}

function remember(token: string, secret: string, claims: TokenClaims): void {
  verified.delete(token);
  if (verified.size >= TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value!);
  verified.set(token, { secret, claims });
}

/** Forgets every verified token (for tests). */
export function clearTokenCache(): void {
  verified.clear();
}

/** Verifies the request's token; 401 with the SDK's reason when it does not verify. */
export async function authenticate(headers: IncomingHttpHeaders, secret: string): Promise<TokenClaims> {
  const token = bearerToken(headers);
  const cached = cachedClaims(token, secret);
  if (cached !== undefined) return cached;
  let claims: TokenClaims;
  try {
    claims = await verifyToken(token, secret);
  } catch (error) {
    if (error instanceof TenantcastError) throw new RelayError('TC_ERR_TOKEN_INVALID', error.message, { cause: error });
    throw error;
  }
  remember(token, secret, claims);
  return claims;
}

/** 403 unless the token holds `scope`. */
export function requireScope(claims: TokenClaims, scope: Scope): void {
  if (!claims.scopes.has(scope)) {
    throw new RelayError(
      'TC_ERR_FORBIDDEN_SCOPE',
      `This call needs the "${scope}" scope; the token has "${[...claims.scopes].join(' ') || 'none'}".`,
    );
  }
}

/** 403 unless the token grants `tenant`. */
export function requireTenant(claims: TokenClaims, tenant: string): void {
  if (claims.tenants !== '*' && !claims.tenants.has(tenant)) {
    throw new RelayError(
      'TC_ERR_FORBIDDEN_TENANT',
      `The token does not grant tenant "${tenant}"; mint one whose "tenants" claim holds it.`,
    );
  }
}
