import type { IncomingMessage } from 'node:http';
import { TenantcastError, type TokenClaims, verifyToken } from '@tenantcast/sdk';
import { GatewayError } from '../errors.ts';

/**
 * Reads the token of an upgrade: `Authorization: Bearer …`, or the `token` query parameter, since
 * browsers cannot set headers on a WebSocket. Verifies it, and requires the `subscribe` scope.
 */
export async function authorizeUpgrade(request: IncomingMessage, query: URLSearchParams, secret: string): Promise<TokenClaims> {
  const header = request.headers.authorization;
  let token: string | undefined;
  if (header !== undefined && header !== '') {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (match === null)
      throw new GatewayError(
        'TC_ERR_UNAUTHORIZED',
        'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".',
      );
    token = match[1];
  } else {
    const tokens = query.getAll('token');
    if (tokens.length > 1) throw new GatewayError('TC_ERR_BAD_REQUEST', 'Query parameter "token" appears more than once; pass it once.');
    token = tokens[0];
  }
  if (token === undefined || token === '') {
    throw new GatewayError('TC_ERR_UNAUTHORIZED', 'Send a token: "Authorization: Bearer <token>", or "?token=<token>" from a browser.');
  }
  let claims: TokenClaims;
  try {
    claims = await verifyToken(token, secret);
  } catch (error) {
    if (error instanceof TenantcastError) throw new GatewayError('TC_ERR_TOKEN_INVALID', error.message, { cause: error });
    throw error;
  }
  if (!claims.scopes.has('subscribe')) {
    throw new GatewayError(
      'TC_ERR_FORBIDDEN_SCOPE',
      `Subscribing needs the "subscribe" scope; the token has "${[...claims.scopes].join(' ') || 'none'}".`,
    );
  }
  return claims;
}

/** 403 unless the token grants `tenant`. */
export function requireTenant(claims: TokenClaims, tenant: string): void {
  if (claims.tenants !== '*' && !claims.tenants.has(tenant)) {
    throw new GatewayError(
      'TC_ERR_FORBIDDEN_TENANT',
      `The token does not grant tenant "${tenant}"; mint one whose "tenants" claim holds it.`,
    );
  }
}
