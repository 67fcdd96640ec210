import { type MintTokenOptions, mintToken } from '@tenantcast/sdk/tokens';

/** The secret test relays and gateways sign and verify tokens with. */
export const TEST_SECRET = 'test-secret-0123456789abcdef';

/** Mints a token signed with `secret`: by default one that publishes and subscribes to every tenant, for an hour (`mintToken`'s default). */
export function testToken(options: Partial<MintTokenOptions> = {}, secret = TEST_SECRET): Promise<string> {
  return mintToken({ sub: 'test', scope: 'publish subscribe', tenants: ['*'], ...options }, secret);
}
