/**
 * The origin policy: a browser may connect for a tenant only from an origin one of the tenant's web
 * integrations lists in `validOrigins` (learned by the relay from the web-integration events).
 * An entry with a scheme (`https://app.example`) must equal the Origin; a bare host name
 * (`app.example`) matches that host on any scheme and port. Comparison ignores case and a trailing
 * slash.
 */
export function isOriginAllowed(origin: string, allowed: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  const normalized = parsed.origin.toLowerCase();
  const host = parsed.hostname.toLowerCase();
  for (const entry of allowed) {
    const candidate = entry.trim().toLowerCase().replace(/\/+$/, '');
    if (candidate === '') continue;
    if (candidate.includes('://')) {
      try {
        if (new URL(candidate).origin === normalized) return true;
      } catch {
        // An entry that is not a URL allows nothing.
      }
    } else if (candidate === host) {
      return true;
    }
  }
  return false;
}
