import type { TokenClaims } from '@tenantcast/sdk';
import { ServiceError, type TokenVerifier } from '@tenantcast/server';
import type { FastifyRequest } from 'fastify';

/** A browser shows its login prompt on a Basic challenge; the password is an admin token. */
const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="tenantcast dashboard: password = admin token", charset="UTF-8"' };

/**
 * Lets operators in: a token with `admin` scope over every tenant, as Bearer or as the Basic
 * password (any user name), checked by the relay's one token verifier. A 401 carries a Basic
 * challenge, so that a browser asks for the token; a 403 none, as signing in again will not help.
 */
export async function requireOperator(request: FastifyRequest, tokens: TokenVerifier): Promise<void> {
  let claims: TokenClaims;
  try {
    claims = await tokens.authenticateBasic(request.headers);
  } catch (error) {
    if (!(error instanceof ServiceError) || error.status !== 401) throw error;
    const message =
      error.code === 'TC_ERR_UNAUTHORIZED'
        ? 'Sign in: any user name, and an admin token (scope admin, tenants ["*"]) as the password.'
        : error.message;
    throw new ServiceError(error.code, message, { headers: BASIC_CHALLENGE, cause: error });
  }
  if (!claims.scopes.has('admin') || claims.tenants !== '*') {
    throw new ServiceError('TC_ERR_FORBIDDEN_SCOPE', 'The dashboard needs a token with scope "admin" over every tenant (tenants: ["*"]).');
  }
}
