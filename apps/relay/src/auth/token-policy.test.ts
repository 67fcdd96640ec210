import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, uniqueTenant } from '@tenantcast/testkit';
import { eventsApi, expectAccepted, expectError } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// What the relay accepts of a token's claims beyond its signature: AUTH_ISSUER, AUTH_AUDIENCE,
// AUTH_MAX_TOKEN_LIFETIME_SECONDS, AUTH_ALLOW_NO_EXP.

const ISSUER = 'https://auth.acme.example';
const AUDIENCE = 'tenantcast';

describe('a relay with AUTH_ISSUER and AUTH_AUDIENCE', () => {
  const stack = useRelay({ authIssuer: ISSUER, authAudience: AUDIENCE });
  const { postStructured } = eventsApi(stack);

  const publishWith = async (token: string) => postStructured(makeEvent(uniqueTenant('policy')), { auth: `Bearer ${token}` });

  test('takes a token of that issuer and audience', async () => {
    await expectAccepted(await publishWith(await stack.relay.token({ issuer: ISSUER, audience: AUDIENCE })), 1);
  });

  test('refuses another issuer, or none, with 401 naming AUTH_ISSUER', async () => {
    for (const issuer of ['https://auth.other.example', undefined]) {
      const res = await publishWith(await stack.relay.token({ issuer, audience: AUDIENCE }));
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      const error = await expectError(res, 401, 'TC_ERR_TOKEN_INVALID');
      assert.match(error.message, /"iss".*AUTH_ISSUER/);
    }
  });

  test('refuses another audience, or none, with 401 naming AUTH_AUDIENCE', async () => {
    for (const audience of ['billing', undefined]) {
      const error = await expectError(
        await publishWith(await stack.relay.token({ issuer: ISSUER, audience })),
        401,
        'TC_ERR_TOKEN_INVALID',
      );
      assert.match(error.message, /"aud".*AUTH_AUDIENCE/);
    }
  });

  test('reading history is held to the same checks', async () => {
    const token = await stack.relay.token({ issuer: 'https://auth.other.example', audience: AUDIENCE });
    const res = await fetch(`${stack.relay.url}/v1/tenants/${uniqueTenant('policy-history')}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await expectError(res, 401, 'TC_ERR_TOKEN_INVALID');
  });
});

describe('a relay with the default token policy', () => {
  const stack = useRelay();
  const { postStructured } = eventsApi(stack);

  const publishWith = async (token: string) => postStructured(makeEvent(uniqueTenant('default-policy')), { auth: `Bearer ${token}` });

  test('refuses a token without exp with 401 naming AUTH_ALLOW_NO_EXP', async () => {
    const error = await expectError(await publishWith(await stack.relay.token({ expiresIn: false })), 401, 'TC_ERR_TOKEN_INVALID');
    assert.match(error.message, /"exp".*AUTH_ALLOW_NO_EXP/);
  });

  test('refuses a token that lives longer than 24 h with 401 naming AUTH_MAX_TOKEN_LIFETIME_SECONDS; takes one of 24 h', async () => {
    const error = await expectError(await publishWith(await stack.relay.token({ expiresIn: '25h' })), 401, 'TC_ERR_TOKEN_INVALID');
    assert.match(error.message, /AUTH_MAX_TOKEN_LIFETIME_SECONDS/);
    await expectAccepted(await publishWith(await stack.relay.token({ expiresIn: '24h' })), 1);
  });

  test('takes a token without exp once AUTH_ALLOW_NO_EXP is true', async (t) => {
    const relay = await stack.startRelay(t, { authAllowNoExp: true });
    const res = await postStructured(makeEvent(uniqueTenant('no-exp')), {
      url: relay.url,
      auth: `Bearer ${await relay.token({ expiresIn: false })}`,
    });
    await expectAccepted(res, 1);
  });
});
