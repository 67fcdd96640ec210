import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertRefusal, connect, plainUrl, refusal, testToken } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

// What the gateway accepts of a token's claims beyond its signature, before the 101: AUTH_ISSUER,
// AUTH_AUDIENCE, AUTH_MAX_TOKEN_LIFETIME_SECONDS, AUTH_ALLOW_NO_EXP.

const ISSUER = 'https://auth.acme.example';
const AUDIENCE = 'tenantcast';

describe('a gateway with AUTH_ISSUER and AUTH_AUDIENCE', () => {
  const stack = useGateway({ gateway: { authIssuer: ISSUER, authAudience: AUDIENCE } });

  test('accepts the upgrade of a token of that issuer and audience', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('policy-ok');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: '0' }), {
      token: await testToken({ issuer: ISSUER, audience: AUDIENCE }),
    });
    await client.received(1);
  });

  test('refuses the upgrade of another issuer, or none, with 401 naming AUTH_ISSUER', async () => {
    for (const issuer of ['https://auth.other.example', undefined]) {
      const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: await testToken({ issuer, audience: AUDIENCE }) });
      assertRefusal(refused, 401, 'TC_ERR_TOKEN_INVALID');
      assert.match(refused.body.error.message, /"iss".*AUTH_ISSUER/);
    }
  });

  test('refuses the upgrade of another audience, or none, with 401 naming AUTH_AUDIENCE; in the query too', async () => {
    for (const audience of ['billing', undefined]) {
      const token = await testToken({ issuer: ISSUER, audience });
      for (const refused of [
        await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token }),
        await refusal(plainUrl(stack.gateway.wsUrl, 'acme', { token })),
      ]) {
        assertRefusal(refused, 401, 'TC_ERR_TOKEN_INVALID');
        assert.match(refused.body.error.message, /"aud".*AUTH_AUDIENCE/);
      }
    }
  });
});

describe('a gateway with the default token policy', () => {
  const stack = useGateway();

  test('refuses the upgrade of a token without exp with 401 naming AUTH_ALLOW_NO_EXP', async () => {
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: await testToken({ expiresIn: false }) });
    assertRefusal(refused, 401, 'TC_ERR_TOKEN_INVALID');
    assert.match(refused.body.error.message, /"exp".*AUTH_ALLOW_NO_EXP/);
  });

  test('refuses the upgrade of a token that lives longer than 24 h with 401 naming AUTH_MAX_TOKEN_LIFETIME_SECONDS', async () => {
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: await testToken({ expiresIn: '30d' }) });
    assertRefusal(refused, 401, 'TC_ERR_TOKEN_INVALID');
    assert.match(refused.body.error.message, /AUTH_MAX_TOKEN_LIFETIME_SECONDS/);
  });

  test('the multiplexed endpoint is held to the same checks', async () => {
    const refused = await refusal(`${stack.gateway.wsUrl}/v1/connect`, {
      token: await testToken({ expiresIn: false }),
      protocols: ['tenantcast.v1'],
    });
    assertRefusal(refused, 401, 'TC_ERR_TOKEN_INVALID');
  });
});
