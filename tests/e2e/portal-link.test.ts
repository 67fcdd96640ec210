import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RelayClient } from '@tenantcast/sdk';
import { useStack } from '../support/stack.ts';

// A portal link's token at the gateway: the console subscribes with it, so the gateway must accept
// what the relay minted (issuer and audience included) for the link's tenant, and only that one.

const auth = { authIssuer: 'https://issuer.example', authAudience: 'tenantcast' };
const stack = useStack({ relay: auth, gateway: auth });

/** The gateway's answer to a plain GET on a tenant's endpoint: the upgrade's checks, 426 when they pass. */
async function probe(tenant: string, token: string): Promise<{ status: number; code?: string }> {
  const url = `${stack.gateway.url}/v1/tenants/${tenant}/events?token=${encodeURIComponent(token)}`;
  const res = await fetch(url);
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

describe('a portal link at the gateway', () => {
  test('its token subscribes to the link’s tenant, with the configured issuer and audience, and to no other', async () => {
    const admin = await stack.relay.token({ scope: 'admin', tenants: ['acme'], issuer: auth.authIssuer, audience: auth.authAudience });
    const client = new RelayClient({ url: stack.relay.url, token: admin });
    const { url } = await client.createPortalLink('acme');
    await client.close();
    const token = url.slice(url.indexOf('#token=') + '#token='.length);
    assert.deepEqual(await probe('acme', token), { status: 426, code: 'TC_ERR_BAD_REQUEST' }, 'the upgrade checks pass');
    assert.deepEqual(await probe('globex', token), { status: 403, code: 'TC_ERR_FORBIDDEN_TENANT' });
  });
});
