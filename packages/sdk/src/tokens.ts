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
}

/** What `mintToken` puts in a token. */
export interface MintTokenOptions {
  sub: string;
  scope: Scope | readonly Scope[] | string;
  /** Tenant ids, or `['*']` for all. */
  tenants: readonly string[];
  /** Lifetime: seconds, or a jose time span such as `'1h'`. Omit for a token that never expires. */
  expiresIn?: number | string;
}

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
 * const token = await mintToken({ sub: 'svc-a', scope: 'publish', tenants: ['acme'], expiresIn: '1h' }, secret);
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
  if (options.expiresIn !== undefined) {
    jwt.setExpirationTime(typeof options.expiresIn === 'number' ? Math.floor(Date.now() / 1000) + options.expiresIn : options.expiresIn);
  }
  return jwt.sign(keyOf(secret));
}

function invalid(message: string, cause?: unknown): TenantcastError {
  return new TenantcastError('TC_ERR_TOKEN_INVALID', message, { status: 401, cause });
}

/**
 * Verifies an HS256 token and returns its claims. Only HS256 is accepted (`alg: none` and every other
 * algorithm are refused). Throws a `TenantcastError` with code `TC_ERR_TOKEN_INVALID` and a message
 * that says what is wrong.
 */
export async function verifyToken(token: string, secret: string | Uint8Array): Promise<TokenClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, await verifyKeyOf(secret), { algorithms: ['HS256'] }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw invalid('Token expired; mint a new one.', error);
    if (error instanceof joseErrors.JOSEAlgNotAllowed) throw invalid('Token algorithm not allowed; sign with HS256.', error);
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw invalid('Token signature does not verify; sign it with TENANTCAST_SECRET.', error);
    }
    throw invalid('Token is not a valid JWT; send a HS256 JWT as "Authorization: Bearer <token>".', error);
  }
  const { sub, scope, tenants, exp } = payload;
  if (typeof sub !== 'string' || sub === '') throw invalid('Token lacks a "sub" claim.');
  if (typeof scope !== 'string') throw invalid('Token lacks a "scope" claim: a space-separated list of publish, subscribe, admin.');
  if (!Array.isArray(tenants) || !tenants.every((t) => t === '*' || isTenantId(t))) {
    throw invalid('Token lacks a valid "tenants" claim: an array of tenant ids matching ^[A-Za-z0-9._-]{1,128}$, or ["*"].');
  }
  const scopes = new Set(scope.split(' ').filter((s): s is Scope => SCOPES.has(s)));
  return {
    sub,
    scopes,
    tenants: tenants.includes('*') ? '*' : new Set(tenants as string[]),
    exp: typeof exp === 'number' ? exp : undefined,
  };
}

/** Whether the claims grant `scope` over `tenant`. */
export function isGranted(claims: TokenClaims, scope: Scope, tenant: string): boolean {
  return claims.scopes.has(scope) && (claims.tenants === '*' || claims.tenants.has(tenant));
}
