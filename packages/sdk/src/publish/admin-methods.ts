import { HistoryMethods } from './history-methods.ts';

/** A link that opens the tenant console signed in for one tenant. */
export interface PortalLink {
  /** The console's URL, with the link's token in its fragment: hand it to the tenant, keep it out of logs. */
  url: string;
  /** When the link stops working (ISO time). */
  expiresAt: string;
}

/**
 * The relay's tenant administration beyond webhooks and history, as methods of `RelayClient` (which
 * extends this): the console's portal links. Tokens need `admin` scope over the tenant.
 */
export abstract class AdminMethods extends HistoryMethods {
  /**
   * Makes a link that opens the tenant console signed in for `tenantid` alone (admin and subscribe
   * over it), valid `expiresInSeconds` (default 3,600, at most 86,400).
   * @example
   * const { url, expiresAt } = await relay.createPortalLink('acme', { expiresInSeconds: 900 });
   */
  createPortalLink(tenantid: string, options: { expiresInSeconds?: number } = {}): Promise<PortalLink> {
    return this.call('POST', `v1/tenants/${encodeURIComponent(tenantid)}/portal-links`, options);
  }
}
