import { mintToken } from '@tenantcast/sdk/tokens';
import { ServiceError } from '@tenantcast/server';
import type { RelayContext } from '../context.ts';

/** A portal link's lifetime unless the call says: one hour. */
export const DEFAULT_PORTAL_LINK_SECONDS = 3600;
/** The longest a portal link lives: a day. */
export const MAX_PORTAL_LINK_SECONDS = 86_400;

/**
 * The lifetime a portal link call asks for, checked: whole seconds from 1 to a day, and no longer
 * than the relay and gateway accept a token to live (AUTH_MAX_TOKEN_LIFETIME_SECONDS); the default
 * hour is shortened to that when it is less.
 */
export function portalLinkLifetime(value: unknown, maxTokenLifetime: number): number {
  const max = Math.min(MAX_PORTAL_LINK_SECONDS, maxTokenLifetime);
  if (value === undefined) return Math.min(DEFAULT_PORTAL_LINK_SECONDS, max);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    const why =
      max < MAX_PORTAL_LINK_SECONDS
        ? `${max} (this relay accepts tokens that live at most ${max} s, AUTH_MAX_TOKEN_LIFETIME_SECONDS)`
        : `${max} (a day)`;
    throw new ServiceError(
      'TC_ERR_VALIDATION',
      `"expiresInSeconds" must be a whole number of seconds from 1 to ${why}; got ${JSON.stringify(value)?.slice(0, 40)}.`,
      { details: [{ path: '/expiresInSeconds', message: `must be an integer from 1 to ${max}` }] },
    );
  }
  return value;
}

/**
 * Mints the token of a portal link: `admin subscribe` over `tenant` alone, for `seconds`, signed
 * with TENANTCAST_SECRET and carrying AUTH_ISSUER and AUTH_AUDIENCE when set, so that the relay and
 * the gateway accept it. Its `sub` names who made the link. The relay's own verifier reads it back,
 * which gives the exact `exp` and proves it passes the relay's token policy.
 */
export async function mintPortalToken(
  ctx: Pick<RelayContext, 'config' | 'tokens'>,
  tenant: string,
  creator: string,
  seconds: number,
): Promise<{ token: string; expiresAt: string }> {
  const { config } = ctx;
  const token = await mintToken(
    {
      sub: `portal:${creator}`,
      scope: ['admin', 'subscribe'],
      tenants: [tenant],
      expiresIn: seconds,
      issuer: config.authIssuer,
      audience: config.authAudience,
    },
    config.secret,
  );
  const claims = await ctx.tokens.verify(token);
  return { token, expiresAt: new Date(claims.exp! * 1000).toISOString() };
}
