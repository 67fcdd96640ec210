import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { makeEvent, uniqueTenant } from '@tenantcast/testkit';
import { eventsApi, expectAccepted, expectError } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// Who may publish at POST /v1/events: the Bearer token, its scope and its tenants.

const stack = useRelay();
const { postStructured, postBatch, history } = eventsApi(stack);

describe('authentication and authorization', () => {
  async function expectUnauthorized(auth: string | null, code: string): Promise<void> {
    const t = uniqueTenant('unauth');
    const res = await postStructured(makeEvent(t), { auth });
    const wwwAuthenticate = res.headers.get('www-authenticate');
    await expectError(res, 401, code);
    assert.match(wwwAuthenticate ?? '', /^Bearer /);
    assert.deepEqual(await history(t), []);
  }

  function b64url(value: unknown): string {
    return Buffer.from(JSON.stringify(value)).toString('base64url');
  }

  test('401 without a token', async () => {
    await expectUnauthorized(null, 'TC_ERR_UNAUTHORIZED');
  });

  test('401 for another scheme than Bearer', async () => {
    await expectUnauthorized(`Basic ${Buffer.from('user:pass').toString('base64')}`, 'TC_ERR_UNAUTHORIZED');
  });

  test('401 for a token that is not a JWT', async () => {
    await expectUnauthorized('Bearer not-a-jwt', 'TC_ERR_TOKEN_INVALID');
  });

  test('401 for an expired token', async () => {
    const expired = await mintToken({ sub: 'old', scope: 'publish', tenants: ['*'], expiresIn: -60 }, stack.relay.config.secret);
    await expectUnauthorized(`Bearer ${expired}`, 'TC_ERR_TOKEN_INVALID');
  });

  test('401 for a token signed with another secret', async () => {
    const forged = await mintToken({ sub: 'forger', scope: 'publish', tenants: ['*'] }, 'another-secret-0123456789');
    await expectUnauthorized(`Bearer ${forged}`, 'TC_ERR_TOKEN_INVALID');
  });

  test('401 for an alg:none token', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'x', scope: 'publish', tenants: ['*'] })}.`;
    await expectUnauthorized(`Bearer ${unsigned}`, 'TC_ERR_TOKEN_INVALID');
  });

  test('401 for a validly signed token without the tenants claim', async () => {
    const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'x', scope: 'publish' })}`;
    const signature = createHmac('sha256', stack.relay.config.secret).update(signingInput).digest('base64url');
    await expectUnauthorized(`Bearer ${signingInput}.${signature}`, 'TC_ERR_TOKEN_INVALID');
  });

  test('403 for a token without the publish scope', async () => {
    const t = uniqueTenant('no-publish');
    const subscribeOnly = await stack.relay.token({ scope: 'subscribe' });
    const error = await expectError(await postStructured(makeEvent(t), { auth: `Bearer ${subscribeOnly}` }), 403, 'TC_ERR_FORBIDDEN_SCOPE');
    assert.match(error.message, /publish/);
    assert.deepEqual(await history(t), []);
  });

  test('403 for a tenant the token does not grant, 202 for one it grants', async () => {
    const granted = uniqueTenant('granted');
    const other = uniqueTenant('not-granted');
    const narrow = await stack.relay.token({ scope: 'publish', tenants: [granted] });
    const error = await expectError(await postStructured(makeEvent(other), { auth: `Bearer ${narrow}` }), 403, 'TC_ERR_FORBIDDEN_TENANT');
    assert.match(error.message, new RegExp(other));
    await expectError(await postBatch([makeEvent(other), makeEvent(other)], { auth: `Bearer ${narrow}` }), 403, 'TC_ERR_FORBIDDEN_TENANT');
    assert.deepEqual(await history(other), []);
    await expectAccepted(await postStructured(makeEvent(granted), { auth: `Bearer ${narrow}` }), 1);
    assert.equal((await history(granted)).length, 1);
  });
});
