// `@tenantcast/sdk/tokens`: for servers only. Whoever holds the secret can mint any token, so a browser
// bundle never imports this entry point; the SDK's root does not export it.
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { TenantcastError } from './errors.ts';
import { isTenantId } from './tenant-id.ts';

/** What a token may allow. */
export type Scope = 'publish' | 'subscribe' | 'admin';

const SCOPES: ReadonlySet<string> = new Set<Scope>(['publish', 'subscribe', 'admin']);

/** The claims tenantcast reads from a token, once verified. */
export interface TokenClaims {
  sub: string;
  scopes: ReadonlySet<Scope>;
  /** Granted tenant ids, or `'*'` for every tenant. */
  tenants: ReadonlySet<string> | '*';
  /** Expiry, in seconds since the epoch, when the token has one. */
  exp: number | undefined;
  /** When the token was issued, in seconds since the epoch, when it says so. */
  iat: number | undefined;
}

/** Claim checks a verifier may ask for beyond the signature (RFC 7519 §4.1), applied by jose. */
export interface VerifyTokenOptions {
  /** The `iss` a token must carry; any issuer, or none, when absent. */
  issuer?: string;
  /** The `aud` a token must name (its `aud` may be a list holding it); any audience, or none, when absent. */
  audience?: string;
  /** Refuse a token without `exp`, one that never expires. Default false. */
  requireExp?: boolean;
}

/** What `mintToken` puts in a token. */
export interface MintTokenOptions {
  sub: string;
  scope: Scope | readonly Scope[] | string;
  /** Tenant ids, or `['*']` for all. */
  tenants: readonly string[];
  /**
   * Lifetime: seconds, or a jose time span such as `'1h'`. Default one hour. `false` mints a token
   * without `exp`, which the servers refuse unless AUTH_ALLOW_NO_EXP is true.
   */
  expiresIn?: number | string | false;
  /** The `iss` claim: who minted the token, for servers that check it (AUTH_ISSUER). Default none. */
  issuer?: string;
  /** The `aud` claim: whom the token is for, for servers that check it (AUTH_AUDIENCE). Default none. */
  audience?: string | readonly string[];
}

/** The lifetime of a token minted without `expiresIn`: one hour, well within the servers' default AUTH_MAX_TOKEN_LIFETIME_SECONDS (24 h). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

/** HS256 keys are the secret string's UTF-8 bytes. */
function keyOf(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
}

const verifyKeys = new Map<string, Promise<CryptoKey>>();

/**
 * The HMAC key that verifies tokens of `secret`, imported once per secret string: jose imports a
 * raw key on every call, which was a sixth of the relay's CPU per request (BENCHMARKS.md).
 */
function verifyKeyOf(secret: string | Uint8Array): Promise<CryptoKey> | Uint8Array {
  if (typeof secret !== 'string') return secret;
  let key = verifyKeys.get(secret);
  if (key === undefined) {
    key = globalThis.crypto.subtle.importKey('raw', keyOf(secret) as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    if (verifyKeys.size < 64) verifyKeys.set(secret, key);
  }
  return key;
}

/**
 * Signs an HS256 token for the relay and the gateway. For servers: the secret must stay on the server.
 * @example
 * const token = await mintToken({ sub: 'svc-a', scope: 'publish', tenants: ['acme'], expiresIn: '1h', audience: 'tenantcast' }, secret);
 */
export async function mintToken(options: MintTokenOptions, secret: string | Uint8Array): Promise<string> {
  const scope = typeof options.scope === 'string' ? options.scope : options.scope.join(' ');
  for (const s of scope.split(' ')) {
    if (!SCOPES.has(s)) throw new TenantcastError('TC_ERR_BAD_OPTIONS', `Unknown scope "${s}"; use publish, subscribe or admin.`);
  }
  if (options.tenants.length === 0) {
    throw new TenantcastError('TC_ERR_BAD_OPTIONS', 'A token needs at least one tenant in "tenants", or ["*"] for all.');
  }
  for (const t of options.tenants) {
    if (t !== '*' && !isTenantId(t)) {
      throw new TenantcastError('TC_ERR_BAD_OPTIONS', `Tenant id "${t}" must match ^[A-Za-z0-9._-]{1,128}$, or be "*".`);
    }
  }
  const jwt = new SignJWT({ scope, tenants: [...options.tenants] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt();
  const expiresIn = options.expiresIn ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  if (expiresIn !== false) {
    jwt.setExpirationTime(typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn);
  }
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(typeof options.audience === 'string' ? options.audience : [...options.audience]);
  return jwt.sign(keyOf(secret));
}

function invalid(message: string, cause?: unknown): TenantcastError {
  return new TenantcastError('TC_ERR_TOKEN_INVALID', message, { status: 401, cause });
}

/** The message of a claim check jose refused (`JWTClaimValidationFailed`), naming the setting that asked for it. */
function claimRefusal(error: InstanceType<typeof joseErrors.JWTClaimValidationFailed>): TenantcastError {
  if (error.claim === 'exp') {
    return invalid(
      'Token has no "exp" claim, and this server refuses tokens that never expire (AUTH_ALLOW_NO_EXP); mint it with an expiry.',
      error,
    );
  }
  if (error.claim === 'iss') {
    return invalid('Token "iss" claim is not the issuer this server accepts (AUTH_ISSUER); mint it with that issuer.', error);
  }
  if (error.claim === 'aud') {
    return invalid('Token "aud" claim does not name this server\'s audience (AUTH_AUDIENCE); mint it for that audience.', error);
  }
  if (error.claim === 'nbf') return invalid('Token is not valid yet: its "nbf" is in the future.', error);
  return invalid(`Token "${error.claim}" claim is not valid: ${error.message}.`, error);
}

/**
 * Verifies an HS256 token and returns its claims. Only HS256 is accepted (`alg: none` and every other
 * algorithm are refused); `options` adds the issuer, audience and expiry checks, done by jose. Throws a
 * `TenantcastError` with code `TC_ERR_TOKEN_INVALID` and a message that says what is wrong.
 */
export async function verifyToken(token: string, secret: string | Uint8Array, options: VerifyTokenOptions = {}): Promise<TokenClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, await verifyKeyOf(secret), {
      algorithms: ['HS256'],
      ...joseClaimChecks(options),
    }));
  } catch (error) {
    throw tokenRefusal(error, { keys: 'TENANTCAST_SECRET', algorithms: 'HS256' });
  }
  const { sub, scope, tenants } = payload;
  if (typeof sub !== 'string' || sub === '') throw invalid('Token lacks a "sub" claim.');
  if (typeof scope !== 'string') throw invalid('Token lacks a "scope" claim: a space-separated list of publish, subscribe, admin.');
  if (!Array.isArray(tenants) || !tenants.every((t) => t === '*' || isTenantId(t))) {
    throw invalid('Token lacks a valid "tenants" claim: an array of tenant ids matching ^[A-Za-z0-9._-]{1,128}$, or ["*"].');
  }
  const scopes = new Set(scope.split(' ').filter((s): s is Scope => SCOPES.has(s)));
  return { sub, scopes, tenants: tenants.includes('*') ? '*' : new Set(tenants as string[]), ...timesOf(payload) };
}

/** jose's options for the claim checks `options` asks for. */
export function joseClaimChecks(options: VerifyTokenOptions): { issuer?: string; audience?: string; requiredClaims: string[] } {
  return { issuer: options.issuer, audience: options.audience, requiredClaims: options.requireExp ? ['exp'] : [] };
}

/** A verified payload's `exp` and `iat`, when they are numbers. */
export function timesOf(payload: Record<string, unknown>): { exp: number | undefined; iat: number | undefined } {
  return {
    exp: typeof payload.exp === 'number' ? payload.exp : undefined,
    iat: typeof payload.iat === 'number' ? payload.iat : undefined,
  };
}

/**
 * The refusal of a token jose did not verify: 401 TC_ERR_TOKEN_INVALID with what to fix. `keys` says
 * what to sign with (`TENANTCAST_SECRET`, `a key published at AUTH_JWKS_URLS`) and `algorithms` what
 * is accepted, for the messages. Errors that are already refusals pass through.
 */
export function tokenRefusal(error: unknown, keys: { keys: string; algorithms: string }): TenantcastError {
  if (error instanceof TenantcastError) return error;
  if (error instanceof joseErrors.JWTExpired) return invalid('Token expired; mint a new one.', error);
  if (error instanceof joseErrors.JWTClaimValidationFailed) return claimRefusal(error);
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return invalid(`Token algorithm not allowed; sign with ${keys.algorithms}.`, error);
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return invalid(`Token signature does not verify; sign it with ${keys.keys}.`, error);
  }
  return invalid(`Token is not a valid JWT; send a JWT signed with ${keys.algorithms} as "Authorization: Bearer <token>".`, error);
}

/** Whether the claims grant `scope` over `tenant`. */
export function isGranted(claims: TokenClaims, scope: Scope, tenant: string): boolean {
  return claims.scopes.has(scope) && (claims.tenants === '*' || claims.tenants.has(tenant));
}
