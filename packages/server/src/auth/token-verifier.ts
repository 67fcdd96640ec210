import type { IncomingHttpHeaders } from 'node:http';
import { TenantcastError } from '@tenantcast/sdk';
import type { Scope, TokenClaims, VerifyTokenOptions } from '@tenantcast/sdk/tokens';
import { ServiceError } from '../errors.ts';
import type { ClaimsMapping } from './claims-mapping.ts';
import { JwksKeys } from './jwks-keys.ts';
import { hs256Keys, type KeySource, keysByAlgorithm } from './key-sources.ts';

export { hs256Keys, type KeySource };

/** What a verifier accepts of a token's claims beyond its signature: the AUTH_* settings. */
export interface TokenPolicy {
  /** The `iss` a token must carry (AUTH_ISSUER); any when absent. */
  issuer?: string;
  /** The audience a token's `aud` must name (AUTH_AUDIENCE); any when absent. */
  audience?: string;
  /** The longest a token may live, `exp` − `iat` (AUTH_MAX_TOKEN_LIFETIME_SECONDS). */
  maxLifetimeSeconds: number;
  /** Accept tokens without `exp`, which never expire (AUTH_ALLOW_NO_EXP). */
  allowNoExp: boolean;
}

/** The policy of a verifier that is given none: the settings' defaults. */
export const DEFAULT_TOKEN_POLICY: TokenPolicy = { maxLifetimeSeconds: 24 * 3600, allowNoExp: false };

/** The options a token policy is read from. */
export interface TokenPolicyConfig {
  authIssuer?: string;
  authAudience?: string;
  authMaxTokenLifetimeSeconds: number;
  authAllowNoExp: boolean;
}

/** The token policy of a server's configuration (the shared `auth*` options of `serverOptions`). */
export function tokenPolicy(config: TokenPolicyConfig): TokenPolicy {
  return {
    issuer: config.authIssuer,
    audience: config.authAudience,
    maxLifetimeSeconds: config.authMaxTokenLifetimeSeconds,
    allowNoExp: config.authAllowNoExp,
  };
}

/** The configuration a verifier is made from: the shared `secret*` and `auth*` options of `serverOptions`. */
export interface TokenVerifierConfig extends TokenPolicyConfig {
  secret: string;
  secretPrevious?: string;
  authJwksUrls: readonly string[];
  authAlgorithms: readonly string[];
  authJwksCooldownMs: number;
  authJwksTimeoutMs: number;
  authJwksMaxAgeMs: number;
  authTenantsClaim: string;
  authScopeClaim: string;
  authDefaultScope: string;
}

/**
 * The verifier of a server's configuration: HS256 tokens of TENANTCAST_SECRET (and
 * TENANTCAST_SECRET_PREVIOUS), and, when AUTH_JWKS_URLS is set, identity providers' tokens signed
 * with an algorithm of AUTH_ALGORITHMS, their claims read through the AUTH_*_CLAIM mapping.
 */
export function createTokenVerifier(config: TokenVerifierConfig, log?: { warn(fields: Record<string, unknown>, message: string): void }) {
  const secret = hs256Keys(config.secret, config.secretPrevious);
  if (config.authJwksUrls.length === 0) return new TokenVerifier(keysByAlgorithm(secret), { policy: tokenPolicy(config) });
  const mapping: ClaimsMapping = {
    tenantsClaim: config.authTenantsClaim,
    scopeClaim: config.authScopeClaim,
    defaultScopes: config.authDefaultScope === 'none' ? [] : (config.authDefaultScope.split(' ') as Scope[]),
  };
  const keys = new JwksKeys({
    urls: config.authJwksUrls,
    algorithms: config.authAlgorithms,
    mapping,
    cooldownMs: config.authJwksCooldownMs,
    timeoutMs: config.authJwksTimeoutMs,
    maxAgeMs: config.authJwksMaxAgeMs,
    log,
  });
  return new TokenVerifier(keysByAlgorithm(secret, { keys, algorithms: config.authAlgorithms }), { policy: tokenPolicy(config) });
}

/** How many verified tokens a verifier keeps; a publisher reuses its token, so a few are enough. */
export const TOKEN_CACHE_SIZE = 10_000;

/** RFC 6750 §3: how a client without a valid token is told to authenticate. */
const BEARER_CHALLENGE = { 'www-authenticate': 'Bearer realm="tenantcast"' };
const INVALID_TOKEN_CHALLENGE = { 'www-authenticate': 'Bearer realm="tenantcast", error="invalid_token"' };

const BEARER = /^Bearer[ ]+(\S+)\s*$/i;
const BASIC = /^Basic[ ]+(\S+)\s*$/i;

/**
 * The one place a credential is checked, whatever the transport (Centrifugo's `jwtverify` is the
 * model): the relay's API, the gateway's upgrades and the dashboard ask it. It verifies through its
 * key source, holds tokens to its policy (issuer, audience, a required `exp`, a longest lifetime)
 * and keeps the claims of tokens that verified in a bounded cache of its own.
 * @example
 * const tokens = new TokenVerifier(hs256Keys(config.secret), { policy: tokenPolicy(config) });
 * const claims = await tokens.authenticate(request.headers);
 * requireScope(claims, 'publish');
 */
export class TokenVerifier {
  readonly #keys: KeySource;
  readonly #cacheSize: number;
  readonly #maxLifetimeSeconds: number;
  /** What the key source checks, through jose's options. */
  readonly #checks: VerifyTokenOptions;
  /**
   * Tokens that verified, least recently used first. Only successes are kept (a token refused now is
   * refused again, in full), and an entry counts only until the token's `exp`. An HMAC verification
   * was a sixth of the relay's CPU per single-event request (BENCHMARKS.md).
   */
  readonly #verified = new Map<string, TokenClaims>();
  /** The key source's generation the cached claims were verified in; a change empties the cache. */
  #generation: number | undefined;

  constructor(keys: KeySource, options: { cacheSize?: number; policy?: TokenPolicy } = {}) {
    const policy = options.policy ?? DEFAULT_TOKEN_POLICY;
    this.#keys = keys;
    this.#cacheSize = options.cacheSize ?? TOKEN_CACHE_SIZE;
    this.#maxLifetimeSeconds = policy.maxLifetimeSeconds;
    this.#checks = { issuer: policy.issuer, audience: policy.audience, requireExp: !policy.allowNoExp };
  }

  /** Verifies a token; 401 TC_ERR_TOKEN_INVALID with the reason when it does not verify or the policy refuses it. */
  async verify(token: string): Promise<TokenClaims> {
    // Stale keys are fetched again even while every caller reuses a cached token, so that a key
    // removed by the provider stops verifying within AUTH_JWKS_MAX_AGE_MS.
    this.#keys.refreshIfDue?.();
    if (this.#keys.generation !== this.#generation) {
      this.#verified.clear();
      this.#generation = this.#keys.generation;
    }
    const cached = this.#cached(token);
    if (cached !== undefined) return cached;
    const generation = this.#keys.generation;
    let claims: TokenClaims;
    try {
      claims = await this.#keys.verify(token, this.#checks);
    } catch (error) {
      if (error instanceof TenantcastError) {
        throw new ServiceError('TC_ERR_TOKEN_INVALID', error.message, { headers: INVALID_TOKEN_CHALLENGE, cause: error });
      }
      throw error;
    }
    this.#checkLifetime(claims);
    // Keys that changed meanwhile may have dropped the one this token was verified with.
    if (this.#keys.generation === generation) this.#remember(token, claims);
    return claims;
  }

  /**
   * Refuses a token minted to live longer than the policy allows: `exp` − `iat`, or `exp` − now for
   * a token without `iat` or with one in the future. jose has no option for this: its `maxTokenAge`
   * bounds now − `iat` (the token's age, not its lifetime) and refuses tokens without `iat`.
   */
  #checkLifetime(claims: TokenClaims): void {
    if (claims.exp === undefined) return;
    const now = Math.floor(Date.now() / 1000);
    const lifetime = claims.exp - Math.min(claims.iat ?? now, now);
    if (lifetime <= this.#maxLifetimeSeconds) return;
    throw new ServiceError(
      'TC_ERR_TOKEN_INVALID',
      `Token lives ${lifetime} s (from "iat" to "exp"), longer than the ${this.#maxLifetimeSeconds} s this server accepts (AUTH_MAX_TOKEN_LIFETIME_SECONDS); mint a shorter-lived one.`,
      { headers: INVALID_TOKEN_CHALLENGE },
    );
  }

  /** The relay's API: `Authorization: Bearer <token>` (RFC 6750 §2.1), verified. */
  authenticate(headers: IncomingHttpHeaders): Promise<TokenClaims> {
    return this.verify(bearerToken(headers));
  }

  /** A WebSocket upgrade: Bearer, or the `token` query parameter, since browsers cannot set headers on a WebSocket. */
  authenticateUpgrade(headers: IncomingHttpHeaders, query: URLSearchParams): Promise<TokenClaims> {
    return this.verify(upgradeToken(headers, query));
  }

  /** A page a browser signs in to: Bearer, or the HTTP Basic password (any user name; RFC 7617). */
  authenticateBasic(headers: IncomingHttpHeaders): Promise<TokenClaims> {
    return this.verify(basicOrBearerToken(headers));
  }

  /** The cached claims of `token` while it has not expired; `undefined` otherwise. */
  #cached(token: string): TokenClaims | undefined {
    const claims = this.#verified.get(token);
    if (claims === undefined) return undefined;
    // jose's check, to the second: expired when `exp <= now`.
    if (claims.exp !== undefined && claims.exp <= Math.floor(Date.now() / 1000)) {
      this.#verified.delete(token);
      return undefined;
    }
    // Most recently used last, so that eviction takes the least recently used.
    this.#verified.delete(token);
    this.#verified.set(token, claims);
    return claims;
  }

  #remember(token: string, claims: TokenClaims): void {
    this.#verified.delete(token);
    if (this.#verified.size >= this.#cacheSize) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(token, claims);
  }
}

/** Reads `Authorization: Bearer <token>`; 401 when absent or of another scheme. */
export function bearerToken(headers: IncomingHttpHeaders): string {
  const header = headers.authorization;
  if (header === undefined || header === '') throw new ServiceError('TC_ERR_UNAUTHORIZED', undefined, { headers: BEARER_CHALLENGE });
  const match = BEARER.exec(header);
  if (match === null) {
    throw new ServiceError('TC_ERR_UNAUTHORIZED', 'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".', {
      headers: BEARER_CHALLENGE,
    });
  }
  return match[1]!;
}

/** Reads an upgrade's token: the Authorization header when sent, else the one `token` query parameter. */
export function upgradeToken(headers: IncomingHttpHeaders, query: URLSearchParams): string {
  if (headers.authorization !== undefined && headers.authorization !== '') return bearerToken(headers);
  const tokens = query.getAll('token');
  if (tokens.length > 1) throw new ServiceError('TC_ERR_BAD_REQUEST', 'Query parameter "token" appears more than once; pass it once.');
  const token = tokens[0];
  if (token === undefined || token === '') {
    throw new ServiceError('TC_ERR_UNAUTHORIZED', 'Send a token: "Authorization: Bearer <token>", or "?token=<token>" from a browser.', {
      headers: BEARER_CHALLENGE,
    });
  }
  return token;
}

/** Reads a Bearer token, or the password of `Authorization: Basic` (any user name); 401 when there is neither. */
export function basicOrBearerToken(headers: IncomingHttpHeaders): string {
  const header = headers.authorization ?? '';
  const bearer = BEARER.exec(header);
  if (bearer !== null) return bearer[1]!;
  const basic = BASIC.exec(header);
  if (basic !== null) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0 && colon < decoded.length - 1) return decoded.slice(colon + 1);
  }
  throw new ServiceError(
    'TC_ERR_UNAUTHORIZED',
    'Sign in with a token: as "Authorization: Bearer <token>", or as the password of HTTP Basic.',
  );
}

/** 403 unless the token holds `scope`; `what` names the call in the message ("Subscribing"). */
export function requireScope(claims: TokenClaims, scope: Scope, what = 'This call'): void {
  if (!claims.scopes.has(scope)) {
    throw new ServiceError(
      'TC_ERR_FORBIDDEN_SCOPE',
      `${what} needs the "${scope}" scope; the token has "${[...claims.scopes].join(' ') || 'none'}".`,
    );
  }
}

/** 403 unless the token grants `tenant`. */
export function requireTenant(claims: TokenClaims, tenant: string): void {
  if (claims.tenants !== '*' && !claims.tenants.has(tenant)) {
    throw new ServiceError(
      'TC_ERR_FORBIDDEN_TENANT',
      `The token does not grant tenant "${tenant}"; mint one whose "tenants" claim holds it.`,
    );
  }
}
