import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { uniqueTenant, within } from '@tenantcast/testkit';
import { STRUCTURED } from '../testing/events-api.ts';
import { type HeldRequest, holdUpload } from '../testing/held-upload.ts';
import { useRelay } from '../testing/use-relay.ts';

// The token is checked before the body is read (issue #16, finding 1): a request that declares a
// 1 MiB body and sends none of it is refused at once, and its connection closed, when its token is
// missing, does not verify, or lacks the scope or the path's tenant.

const MIB = 1024 * 1024;
/** Far less than any timeout of the relay's: the refusal does not wait for a body. */
const AT_ONCE_MS = 5000;

const stack = useRelay();

async function expectRefusedBeforeBody(request: Omit<HeldRequest, 'contentLength'>, status: number, code: string): Promise<void> {
  const upload = holdUpload(stack.relay.url, { ...request, contentLength: MIB });
  const answer = await within(upload.answer, `${status} ${code} before any of the body is sent`, AT_ONCE_MS);
  assert.equal(answer.status, status, answer.body);
  assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, code);
  // The relay will not read a body nobody will use: it ends the connection.
  assert.equal(answer.headers.connection, 'close');
  await within(upload.closed, 'the relay closing the refused upload', AT_ONCE_MS);
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': STRUCTURED };
}

describe('token checks before the body is read', () => {
  test('POST /v1/events without a token: 401 TC_ERR_UNAUTHORIZED', async () => {
    await expectRefusedBeforeBody({ path: '/v1/events', headers: { 'content-type': STRUCTURED } }, 401, 'TC_ERR_UNAUTHORIZED');
  });

  test('POST /v1/events with a token signed with another secret: 401 TC_ERR_TOKEN_INVALID', async () => {
    const forged = await mintToken({ sub: 'forger', scope: 'publish', tenants: ['*'] }, 'another-secret-0123456789');
    await expectRefusedBeforeBody({ path: '/v1/events', headers: bearer(forged) }, 401, 'TC_ERR_TOKEN_INVALID');
  });

  test('POST /v1/events with a token without the publish scope: 403 TC_ERR_FORBIDDEN_SCOPE', async () => {
    const subscribeOnly = await stack.relay.token({ scope: 'subscribe' });
    await expectRefusedBeforeBody({ path: '/v1/events', headers: bearer(subscribeOnly) }, 403, 'TC_ERR_FORBIDDEN_SCOPE');
  });

  test('the webhook API: no admin scope 403, another tenant 403, a bad tenant id 400, no token 401', async () => {
    const tenant = uniqueTenant('early-webhooks');
    const path = `/v1/tenants/${tenant}/webhooks`;
    const publisher = await stack.relay.token({ scope: 'publish', tenants: [tenant] });
    const otherAdmin = await stack.relay.token({ scope: 'admin', tenants: [uniqueTenant('someone-else')] });
    const admin = await stack.relay.token({ scope: 'admin', tenants: ['*'] });
    await expectRefusedBeforeBody({ path, headers: bearer(publisher) }, 403, 'TC_ERR_FORBIDDEN_SCOPE');
    await expectRefusedBeforeBody({ path, headers: bearer(otherAdmin) }, 403, 'TC_ERR_FORBIDDEN_TENANT');
    await expectRefusedBeforeBody({ path: '/v1/tenants/bad%20id/webhooks', headers: bearer(admin) }, 400, 'TC_ERR_BAD_TENANT_ID');
    const replay = `${path}/wh_00000000000000000000000000000000/replay`;
    await expectRefusedBeforeBody({ path: replay, headers: { 'content-type': 'application/json' } }, 401, 'TC_ERR_UNAUTHORIZED');
    await expectRefusedBeforeBody({ path: replay, headers: bearer(otherAdmin) }, 403, 'TC_ERR_FORBIDDEN_TENANT');
  });

  test('an unknown route: 404 TC_ERR_NOT_FOUND', async () => {
    await expectRefusedBeforeBody({ path: '/v1/nothing-here', headers: { 'content-type': STRUCTURED } }, 404, 'TC_ERR_NOT_FOUND');
  });

  test('Expect: 100-continue: a refused client is never told to send its body, a granted one is', async () => {
    const refused = holdUpload(stack.relay.url, {
      path: '/v1/events',
      headers: { 'content-type': STRUCTURED, expect: '100-continue' },
      contentLength: MIB,
    });
    const refusal = await within(refused.answer, 'the first answer to a refused upload', AT_ONCE_MS);
    assert.equal(refusal.status, 401, 'the refusal, not 100 Continue');
    const granted = holdUpload(stack.relay.url, {
      path: '/v1/events',
      headers: { ...bearer(stack.token), expect: '100-continue' },
      contentLength: MIB,
    });
    assert.equal((await within(granted.answer, '100 Continue to a granted upload', AT_ONCE_MS)).status, 100);
    granted.socket.destroy();
  });

  test('a granted token still gets its body read and checked', async () => {
    const upload = holdUpload(stack.relay.url, { path: '/v1/events', headers: bearer(stack.token), contentLength: 2 });
    upload.write('{}');
    const answer = await within(upload.answer, 'the answer to a whole body', AT_ONCE_MS);
    // Refused for what the body holds (an empty object is no CloudEvent), so the body was read.
    assert.equal(answer.status, 400, answer.body);
    assert.match(answer.body, /specversion|CloudEvent/i);
    upload.socket.destroy();
  });
});
