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

/** Verifies the request's token; 401 with the SDK's reason when it does not verify. */
export async function authenticate(headers: IncomingHttpHeaders, secret: string): Promise<TokenClaims> {
  const token = bearerToken(headers);
  try {
    return await verifyToken(token, secret);
  } catch (error) {
    if (error instanceof TenantcastError) throw new RelayError('TC_ERR_TOKEN_INVALID', error.message, { cause: error });
    throw error;
  }
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
