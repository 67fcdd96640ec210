import { isTenantId, type TokenClaims } from '@tenantcast/sdk';
import type { Scope } from '@tenantcast/sdk/tokens';
import { requireScope, requireTenant, ServiceError, type TokenVerifier } from '@tenantcast/server';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The claims of the request's token, set by `requireToken` before the body is read; null on routes without one. */
    tokenClaims: TokenClaims | null;
  }
}

/** What a route asks of its token. */
export interface TokenRule {
  /** The scope the route needs; absent: any valid token. */
  scope?: Scope;
  /** The path names the tenant (`:tenantid`): its id is checked, and the token must grant it. */
  tenantInPath?: boolean;
}

/**
 * Prepares the relay for `requireToken`: every request gets the `tokenClaims` slot it fills (one
 * shape for V8), and `100 Continue` waits for the checks. RFC 9110 §10.1.1: a client that sends
 * `Expect: 100-continue` (curl does, for large bodies) holds its body until the server says 100.
 * Node says it on arrival unless the server listens for `checkContinue`; the relay says it in
 * `preParsing`, after the `onRequest` checks passed, so a refused client never sends its body.
 */
export function registerTokenChecks(app: FastifyInstance): void {
  app.decorateRequest('tokenClaims', null);
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();
    done(null, payload);
  });
}

/**
 * A route's token check, as an `onRequest` hook: Fastify runs those before it reads the body, so a
 * request without a valid token, or with one lacking the scope or the path's tenant, is answered
 * 401, 400 or 403 having cost no body buffering. Where the tenant is named only in the body (POST
 * /v1/events), the route checks it against `claimsOf(request)` after parsing. The one verifier
 * (`ctx.tokens`) does the checks; routes read the claims it returned, never `Authorization`.
 */
export function requireToken(tokens: TokenVerifier, rule: TokenRule): onRequestAsyncHookHandler {
  return async (request, reply) => {
    try {
      const claims = await tokens.authenticate(request.headers);
      if (rule.tenantInPath === true) {
        const { tenantid } = request.params as { tenantid: string };
        if (!isTenantId(tenantid)) {
          throw new ServiceError(
            'TC_ERR_BAD_TENANT_ID',
            `Tenant id "${String(tenantid).slice(0, 140)}" must match ^[A-Za-z0-9._-]{1,128}$.`,
          );
        }
        if (rule.scope !== undefined) requireScope(claims, rule.scope);
        requireTenant(claims, tenantid);
      } else if (rule.scope !== undefined) {
        requireScope(claims, rule.scope);
      }
      request.tokenClaims = claims;
    } catch (error) {
      closeUnreadBody(request, reply);
      throw error;
    }
  };
}

/** The claims `requireToken` verified for this request; a route without that hook is a bug. */
export function claimsOf(request: FastifyRequest): TokenClaims {
  if (request.tokenClaims === null) throw new Error(`${request.method} ${request.routeOptions.url} has no requireToken hook`);
  return request.tokenClaims;
}

/**
 * Before a refusal whose body has not been read: the answer says `Connection: close`, and once it
 * is written the connection is destroyed, so the relay neither reads (Node would read and discard
 * the rest, for as long as the client sends) nor waits for a body nobody will use. A client still
 * sending may then see a reset instead of the refusal, as with any server that stops reading; one
 * that sends `Expect: 100-continue` gets the refusal before sending anything (`continueAfterChecks`).
 */
export function closeUnreadBody(request: FastifyRequest, reply: FastifyReply): void {
  if (request.raw.complete) return;
  reply.header('connection', 'close');
  // Node's own 'finish' handler runs first: it has resumed reading, which this stops at once.
  reply.raw.once('finish', () => request.raw.socket.destroy());
}
