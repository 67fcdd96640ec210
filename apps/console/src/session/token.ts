// The console's credential: a token from the portal link's fragment (`#token=`) or the sign-in
// form, kept in this tab's sessionStorage only. It is decoded, not verified: the relay and the
// gateway verify it on every call. What it grants (tenants, scopes) is the relay's word
// (`GET /v1/whoami`), since an identity provider's token names its claims its own way.

const KEY = 'tenantcast.console.token';

/** What the console reads from a token's payload. */
export interface TokenInfo {
  token: string;
  /** Granted tenants, or `['*']` for every tenant. */
  tenants: string[];
  scopes: string[];
  /** Expiry in seconds since the epoch, when the token has one. */
  exp: number | undefined;
  /** Tenants and scopes are the relay's (`/v1/whoami`), not only decoded. */
  verified?: boolean;
}

/** A token the relay refused at sign-in: its message says why. */
export class TokenRefused extends Error {}

/**
 * What the relay grants `info`'s token: its tenants and scopes after verification and claims
 * mapping. Throws `TokenRefused` on a 401 or 403; any other failure (a relay without the route, the
 * network) leaves the decoded claims standing, marked verified so that the console goes on.
 */
export async function verifyWithRelay(info: TokenInfo): Promise<TokenInfo> {
  let response: Response;
  try {
    response = await fetch('/v1/whoami', { headers: { authorization: `Bearer ${info.token}`, accept: 'application/json' } });
  } catch {
    return { ...info, verified: true };
  }
  const body = (await response.json().catch(() => undefined)) as
    | { tenants?: string[]; scopes?: string[]; exp?: number | null; error?: { message?: string } }
    | undefined;
  if (response.status === 401 || response.status === 403)
    throw new TokenRefused(body?.error?.message ?? `The relay refused the token (${response.status}).`);
  if (!response.ok || body?.tenants === undefined) return { ...info, verified: true };
  return { ...info, tenants: body.tenants, scopes: body.scopes ?? [], exp: body.exp ?? undefined, verified: true };
}

/** Decodes a JWT's payload (base64url JSON); undefined when it is not a JWT. */
export function decodeToken(token: string): TokenInfo | undefined {
  const payload = token.trim().split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { tenants?: unknown; scope?: unknown; exp?: unknown };
    const tenants = Array.isArray(claims.tenants) ? claims.tenants.filter((t): t is string => typeof t === 'string') : [];
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    return { token: token.trim(), tenants, scopes, exp: typeof claims.exp === 'number' ? claims.exp : undefined };
  } catch {
    return undefined;
  }
}

/** True when the token's `exp` has passed. */
export function isExpired(info: TokenInfo, nowMs = Date.now()): boolean {
  return info.exp !== undefined && info.exp * 1000 <= nowMs;
}

/**
 * Takes a `#token=` from the address bar into sessionStorage and drops it from the URL (it is
 * never sent to a server: fragments are not), then returns the stored token, if any.
 */
export function takeToken(): string | undefined {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match?.[1] !== undefined) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY) ?? undefined;
}

/** Keeps a token pasted on the sign-in form for this tab. */
export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

/** Sign out: the tab forgets the token. */
export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
