import type { TokenClaims } from '@tenantcast/sdk';
import { requireScope, ServiceError } from '@tenantcast/server';

/**
 * What a refresh token (`{"op":"refresh"}`, docs/protocol.md) must hold beyond verifying, which the
 * one verifier does: the connection's subject, the `subscribe` scope, and every tenant of the
 * connection's open subscriptions (`open`: subscription id → tenant). Throws the refusal, whose
 * close code (the error table's) ends the connection. The messages fit a close reason (123 bytes).
 */
export function checkRefresh(current: TokenClaims, next: TokenClaims, open: Iterable<readonly [id: string, tenant: string]>): void {
  // A refresh extends who is connected; it does not hand the connection to someone else.
  if (next.sub !== current.sub) {
    throw new ServiceError('TC_ERR_TOKEN_SUBJECT', 'Refresh refused: the token\'s "sub" is not the connection\'s; connect again with it.');
  }
  requireScope(next, 'subscribe', 'Refreshing');
  if (next.tenants === '*') return;
  for (const [id, tenant] of open) {
    if (!next.tenants.has(tenant)) {
      throw new ServiceError('TC_ERR_FORBIDDEN_TENANT', `Refresh refused: token does not grant tenant "${tenant}" of subscription "${id}"`);
    }
  }
}
