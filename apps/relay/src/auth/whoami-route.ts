import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { claimsOf, requireToken } from './require-token.ts';

/** What the relay grants a token, as `GET /v1/whoami` answers it. */
export interface WhoAmI {
  sub: string;
  /** Granted tenant ids, or `["*"]` for every tenant. */
  tenants: string[];
  scopes: string[];
  /** Expiry in seconds since the epoch; null for a token that never expires. */
  exp: number | null;
}

/**
 * `GET /v1/whoami`: the claims the relay reads from the caller's token, after verification and,
 * for an identity provider's token, the claims mapping (docs/auth.md). The console reads its
 * tenants here rather than decoding the token itself, since a provider's token names them its own
 * way; a person can check what a token grants. Any scope will do.
 */
export function registerWhoAmIRoute(app: FastifyInstance, ctx: RelayContext): void {
  app.get('/v1/whoami', { onRequest: requireToken(ctx.tokens, {}) }, async (request, reply) => {
    const claims = claimsOf(request);
    const body: WhoAmI = {
      sub: claims.sub,
      tenants: claims.tenants === '*' ? ['*'] : [...claims.tenants],
      scopes: [...claims.scopes],
      exp: claims.exp ?? null,
    };
    return reply.header('cache-control', 'no-store').send(body);
  });
}
