import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { makeEvent, publish } from '@tenantcast/testkit';
import { useRelay } from '../testing/use-relay.ts';

const stack = useRelay();
const publishToken = () => stack.relay.token({ scope: 'publish' });
const subscribeToken = () => stack.relay.token({ scope: 'subscribe', tenants: ['hist', 'other'] });

async function post(tenant: string, ids: string[]): Promise<string[]> {
  const events = ids.map((id) => makeEvent(tenant, { id, source: 'hist-test', type: 'com.example.thing', data: { id } }));
  return (await publish(stack.relay.url, await publishToken(), events)).map((a) => a.offset);
}

async function get(path: string, token?: string): Promise<Response> {
  return fetch(`${stack.relay.url}${path}`, { headers: { authorization: `Bearer ${token ?? (await subscribeToken())}` } });
}

describe('GET /v1/tenants/{tenantid}/events', () => {
  test('pages oldest first, with next as the following page’s after, and null at the end', async () => {
    const offsets = await post('hist', ['h1', 'h2', 'h3', 'h4', 'h5']);
    const seen: Array<{ offset: string; event: { id: string; tenantid: string } }> = [];
    let afterOffset: string | null = '0';
    let pages = 0;
    while (afterOffset !== null) {
      const res = await get(`/v1/tenants/hist/events?after=${afterOffset}&limit=2`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { events: typeof seen; next: string | null };
      seen.push(...body.events);
      afterOffset = body.next;
      pages++;
      assert.ok(pages < 10);
    }
    assert.equal(pages, 3);
    assert.deepEqual(
      seen.map((e) => e.offset),
      offsets,
    );
    assert.deepEqual(
      seen.map((e) => e.event.id),
      ['h1', 'h2', 'h3', 'h4', 'h5'],
    );
    assert.ok(seen.every((e) => e.event.tenantid === 'hist'));
  });

  test('after defaults to the start and limit to 100', async () => {
    const res = await get('/v1/tenants/hist/events');
    const body = (await res.json()) as { events: unknown[]; next: string | null };
    assert.ok(body.events.length >= 5);
    assert.equal(body.next, null);
  });

  test('returns only the named tenant’s events', async () => {
    await post('other', ['o1']);
    const body = (await (await get('/v1/tenants/other/events')).json()) as { events: Array<{ event: { id: string } }> };
    assert.deepEqual(
      body.events.map((e) => e.event.id),
      ['o1'],
    );
  });

  test('an unknown tenant has no events', async () => {
    const token = await stack.relay.token({ scope: 'subscribe', tenants: ['*'] });
    const body = await (await get('/v1/tenants/never-written/events', token)).json();
    assert.deepEqual(body, { events: [], next: null });
  });

  for (const [name, path, status, code] of [
    ['a bad offset', '/v1/tenants/hist/events?after=abc', 400, 'TC_ERR_BAD_OFFSET'],
    ['an offset with a glob', '/v1/tenants/hist/events?after=1-*', 400, 'TC_ERR_BAD_OFFSET'],
    ['an offset past 64 bits', '/v1/tenants/hist/events?after=18446744073709551616-0', 400, 'TC_ERR_BAD_OFFSET'],
    ['a zero limit', '/v1/tenants/hist/events?limit=0', 400, 'TC_ERR_BAD_LIMIT'],
    ['a limit over 1000', '/v1/tenants/hist/events?limit=1001', 400, 'TC_ERR_BAD_LIMIT'],
    ['a fractional limit', '/v1/tenants/hist/events?limit=1.5', 400, 'TC_ERR_BAD_LIMIT'],
    ['a repeated parameter', '/v1/tenants/hist/events?limit=1&limit=2', 400, 'TC_ERR_BAD_REQUEST'],
    ['a tenant id with braces', '/v1/tenants/%7Bhist%7D/events', 400, 'TC_ERR_BAD_TENANT_ID'],
    ['a tenant id with a star', '/v1/tenants/*/events', 400, 'TC_ERR_BAD_TENANT_ID'],
    ['a tenant not granted', '/v1/tenants/secret/events', 403, 'TC_ERR_FORBIDDEN_TENANT'],
  ] as const) {
    test(`${name} gets ${status} ${code}`, async () => {
      const res = await get(path);
      assert.equal(res.status, status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, code);
      assert.ok(body.error.message.length > 10);
    });
  }

  test('an after past the last offset gets 409 TC_ERR_OFFSET_AHEAD, the largest possible one too; the last offset itself reads as the end', async () => {
    const [last] = await post('hist', ['h-last']);
    const [ms, seq] = last!.split('-');
    for (const after of [`${ms}-${Number(seq) + 1}`, '9999999999999-0', '18446744073709551615-18446744073709551615']) {
      const res = await get(`/v1/tenants/hist/events?after=${after}`);
      assert.equal(res.status, 409, after);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'TC_ERR_OFFSET_AHEAD');
      assert.match(body.error.message, /after=0/, 'the message says how to start again');
    }
    assert.deepEqual(await (await get(`/v1/tenants/hist/events?after=${last}`)).json(), { events: [], next: null });
  });

  test('on a tenant with no stream (never written, or lost by Redis), any after but 0 and 0-0 is ahead', async () => {
    const token = await stack.relay.token({ scope: 'subscribe', tenants: ['*'] });
    assert.deepEqual(await (await get('/v1/tenants/never-written/events?after=0-0', token)).json(), { events: [], next: null });
    const res = await get('/v1/tenants/never-written/events?after=1-0', token);
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TC_ERR_OFFSET_AHEAD');
  });

  test('needs the subscribe scope', async () => {
    const res = await get('/v1/tenants/hist/events', await publishToken());
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TC_ERR_FORBIDDEN_SCOPE');
  });

  test('needs a valid token', async () => {
    assert.equal((await fetch(`${stack.relay.url}/v1/tenants/hist/events`)).status, 401);
    const forged = await mintToken({ sub: 'x', scope: 'subscribe', tenants: ['*'] }, 'another-secret-entirely');
    assert.equal((await get('/v1/tenants/hist/events', forged)).status, 401);
  });
});

describe('GET /v1/tenants/{tenantid}/events?before=', () => {
  test('pages back from the end, each page oldest first, with previous as the next older page’s before, and null at the start', async () => {
    const tenant = `hist-back-${Date.now()}`;
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const offsets = await post(tenant, ['b1', 'b2', 'b3', 'b4', 'b5']);
    const pages: string[][] = [];
    let before: string | null = 'end';
    while (before !== null) {
      const res = await get(`/v1/tenants/${tenant}/events?before=${before}&limit=2`, token);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { events: Array<{ offset: string }>; previous: string | null };
      pages.push(body.events.map((e) => e.offset));
      before = body.previous;
      assert.ok(pages.length < 10);
    }
    assert.deepEqual(pages, [offsets.slice(3), offsets.slice(1, 3), offsets.slice(0, 1)]);
  });

  test('refuses before with after, and a before that is no offset, with 400 saying what to pass', async () => {
    const both = await get('/v1/tenants/hist/events?before=end&after=0');
    assert.equal(both.status, 400);
    assert.match(((await both.json()) as { error: { message: string } }).error.message, /not both/);
    for (const bad of ['0', 'yesterday', '1-2-3']) {
      const res = await get(`/v1/tenants/hist/events?before=${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TC_ERR_BAD_OFFSET');
    }
  });
});
