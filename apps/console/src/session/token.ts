// The console's credential: a token from the portal link's fragment (`#token=`) or the sign-in
// form, kept in this tab's sessionStorage only. It is decoded, not verified: the relay and the
// gateway verify it on every call; the console only needs its tenants and expiry.

const KEY = 'tenantcast.console.token';

/** What the console reads from a token's payload. */
export interface TokenInfo {
  token: string;
  /** Granted tenants, or `['*']` for every tenant. */
  tenants: string[];
  scopes: string[];
  /** Expiry in seconds since the epoch, when the token has one. */
  exp: number | undefined;
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
