import { ServiceError } from '@tenantcast/server';
import type { FastifyRequest } from 'fastify';

/** Methods that change nothing (RFC 9110 §9.2.1), which any site may send. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Sec-Fetch-Site values of a request the dashboard's own page made, or the user typed (Fetch Metadata, W3C). */
const OWN_SITE = new Set(['same-origin', 'none']);

/**
 * Refuses a state-changing request that a browser sent from another site. Browsers resend Basic
 * credentials on cross-site requests, so without this any page could retry or add jobs in an
 * operator's name (CSRF). `Sec-Fetch-Site` decides where a browser sends it; otherwise `Origin`
 * must be the request's own scheme and Host. A request with neither (curl, scripts) passes: it
 * carries its token on purpose.
 */
export function requireSameOrigin(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const site = header(request, 'sec-fetch-site');
  if (site !== undefined) {
    if (OWN_SITE.has(site.toLowerCase())) return;
    throw new ServiceError('TC_ERR_CROSS_SITE');
  }
  const origin = header(request, 'origin');
  if (origin === undefined) return;
  const own = originOf(`${request.protocol}://${request.host}`);
  if (own !== undefined && originOf(origin) === own) return;
  throw new ServiceError('TC_ERR_CROSS_SITE');
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** An origin serialized as browsers send `Origin` (RFC 6454 §6.2: lower case, no default port); undefined for "null" or garbage. */
function originOf(url: string): string | undefined {
  try {
    const { origin } = new URL(url);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
