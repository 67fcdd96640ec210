import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { hs256Keys, TokenVerifier } from '@tenantcast/server';
import { makeEvent, TEST_SECRET, uniqueTenant } from '@tenantcast/testkit';
import { STRUCTURED } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

const OTHER_SECRET = 'another-secret-fedcba9876543210';

const stack = useRelay();

function publish(url: string, token: string, tenantid: string): Promise<Response> {
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': STRUCTURED },
    body: JSON.stringify(makeEvent(tenantid, { source: '/tests/token-cache' })),
  });
}

async function expectStatus(res: Response, status: number, code?: string): Promise<{ code: string; message: string } | undefined> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  if (code === undefined) return undefined;
  const { error } = JSON.parse(text) as { error: { code: string; message: string } };
  assert.equal(error.code, code, text);
  return error;
}

describe('token cache', () => {
  test('a verified token is verified once: the same claims come back for the same token and secret', async () => {
    const ours = new TokenVerifier(hs256Keys(TEST_SECRET));
    const theirs = new TokenVerifier(hs256Keys(OTHER_SECRET));
    const token = await mintToken({ sub: 'cache', scope: 'publish', tenants: ['a'] }, TEST_SECRET);
    const headers = { authorization: `Bearer ${token}` };
    const first = await ours.authenticate(headers);
    assert.equal(await ours.authenticate(headers), first);
    // Another secret does not take the cached entry: the token is verified, and refused.
    await assert.rejects(theirs.authenticate(headers), { code: 'TC_ERR_TOKEN_INVALID', message: /signature/ });
    assert.equal(await ours.authenticate(headers), first);
  });

  test('a cached token is refused with 401 once its exp has passed', async () => {
    const t = uniqueTenant('exp');
    // Expires at a whole second 2 s from now, to the second as jose reads it.
    const token = await stack.relay.token({ tenants: [t], expiresIn: 2 });
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
    await expectStatus(await publish(stack.relay.url, token, t), 202);
    await expectStatus(await publish(stack.relay.url, token, t), 202);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 20));
    const error = await expectStatus(await publish(stack.relay.url, token, t), 401, 'TC_ERR_TOKEN_INVALID');
    assert.match(error!.message, /expired/);
    // And again: the refusal is not cached as anything else.
    await expectStatus(await publish(stack.relay.url, token, t), 401, 'TC_ERR_TOKEN_INVALID');
  });

  test('a cached token still grants only its tenants and scopes', async () => {
    const granted = uniqueTenant('granted');
    const refused = uniqueTenant('refused');
    const token = await stack.relay.token({ scope: 'publish', tenants: [granted] });
    await expectStatus(await publish(stack.relay.url, token, granted), 202);
    const error = await expectStatus(await publish(stack.relay.url, token, refused), 403, 'TC_ERR_FORBIDDEN_TENANT');
    assert.match(error!.message, new RegExp(refused));
    await expectStatus(await publish(stack.relay.url, token, granted), 202);
    // No subscribe scope: reading history stays refused.
    const res = await fetch(`${stack.relay.url}/v1/tenants/${granted}/events`, { headers: { authorization: `Bearer ${token}` } });
    await expectStatus(res, 403, 'TC_ERR_FORBIDDEN_SCOPE');
  });

  test('a token cached by one relay is refused by a relay of another secret in the same process', async (context) => {
    // A second relay on the same Redis, with a secret of its own.
    const other = await stack.startRelay(context, { secret: OTHER_SECRET });
    const t = uniqueTenant('two-relays');
    const ours = await stack.relay.token({ tenants: [t] });
    await expectStatus(await publish(stack.relay.url, ours, t), 202);
    const error = await expectStatus(await publish(other.url, ours, t), 401, 'TC_ERR_TOKEN_INVALID');
    assert.match(error!.message, /signature/);
    // The other way round, and the first relay still takes its own token.
    const theirs = await other.token({ tenants: [t] });
    await expectStatus(await publish(other.url, theirs, t), 202);
    await expectStatus(await publish(stack.relay.url, theirs, t), 401, 'TC_ERR_TOKEN_INVALID');
    await expectStatus(await publish(stack.relay.url, ours, t), 202);
    await expectStatus(await publish(other.url, ours, t), 401, 'TC_ERR_TOKEN_INVALID');
  });

  test('a refused token is not remembered: a malformed header is still 401 after a valid one', async () => {
    const t = uniqueTenant('refused-token');
    const token = await stack.relay.token({ tenants: [t] });
    await expectStatus(await publish(stack.relay.url, token, t), 202);
    await expectStatus(await publish(stack.relay.url, `${token}x`, t), 401, 'TC_ERR_TOKEN_INVALID');
    await expectStatus(await publish(stack.relay.url, token, t), 202);
  });
});
