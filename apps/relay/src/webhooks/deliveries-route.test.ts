import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { uniqueTenant, until } from '@tenantcast/testkit';
import type { RelayConfig } from '../config.ts';
import { createEndpoint } from '../testing/endpoints-api.ts';
import { publishDrafts } from '../testing/publish-drafts.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { type Answer, type Hit, type Receiver, startReceiver } from '../testing/webhook-receiver.ts';
import type { Delivery, DeliveryAttempt } from './delivery-log.ts';

// The delivery log API (issue #17): what a tenant's developer asks after a delivery failed — did
// event X reach endpoint Y, how many attempts, what did it answer, when is the next try — and the
// retries, under the webhook-id the receiver has seen already.

interface Stack {
  relay: TestRelay;
  receiver: Receiver;
  tenant: string;
  endpoint: string;
  admin: string;
}

/** A relay on a Redis of the test's own, a receiver answering `respond`, and one endpoint on it. */
async function stack(t: TestContext, config: Partial<RelayConfig>, respond: (hit: Hit, attempt: number) => Answer): Promise<Stack> {
  const { relay, close } = await startRelayWithRedis({ webhookAllowPrivate: true, webhookCircuitFailures: 1000, ...config });
  const receiver = await startReceiver(respond);
  t.after(async () => {
    await close();
    await receiver.close();
  });
  const tenant = uniqueTenant('dlog');
  const { id: endpointId, admin } = await createEndpoint(relay, tenant, { url: receiver.url });
  return { relay, receiver, tenant, endpoint: endpointId, admin };
}

/** A call to the endpoint's deliveries API: `path` after `/deliveries`. */
function call(s: Stack, path: string, method = 'GET', token = s.admin): Promise<Response> {
  return fetch(`${s.relay.url}/v1/tenants/${s.tenant}/webhooks/${s.endpoint}/deliveries${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
}

async function json<T>(res: Response, status = 200): Promise<T> {
  assert.equal(res.status, status, await res.clone().text());
  return (await res.json()) as T;
}

type Page = { deliveries: Delivery[]; next: string | null };
type Full = Delivery & { attemptLog: DeliveryAttempt[] };

/** Every page of a listing, following `next`. */
async function pages(s: Stack, query: string): Promise<Page[]> {
  const all: Page[] = [await json<Page>(await call(s, `?${query}`))];
  while (all.at(-1)!.next !== null) all.push(await json<Page>(await call(s, `?${query}&cursor=${all.at(-1)!.next}`)));
  return all;
}

/** A delivery, or undefined while the log does not have it yet (404). */
async function find(s: Stack, id: string): Promise<Full | undefined> {
  const res = await call(s, `/${id}`);
  return res.status === 404 ? undefined : json<Full>(res);
}

const idOf = (s: Stack, offset: string) => `msg_${s.tenant}_${offset}`;
const numbered = (hit: Hit) => (JSON.parse(hit.body) as { data: { n: number } }).data.n;

describe('what the log says of a delivery', () => {
  test("a failing receiver's delivery shows each attempt with its status, duration and body, then fails for good", async (t) => {
    const bodies = ['upstream exploded:\n database is down', 'maintenance', 'still down'];
    const s = await stack(t, { webhookRetrySchedule: [50, 50] }, (_hit, attempt) => ({
      status: attempt === 2 ? 503 : 500,
      body: bodies[attempt - 1]!,
      delayMs: 20,
    }));
    const [event] = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.failing' }]);
    const id = idOf(s, event!.offset);
    await until(async () => (await find(s, id))?.status === 'failed', 'the delivery to fail for good', 15_000);

    const delivery = await json<Full>(await call(s, `/${id}`));
    assert.deepEqual(
      {
        id: delivery.id,
        endpointId: delivery.endpointId,
        offset: delivery.offset,
        eventId: delivery.eventId,
        eventType: delivery.eventType,
        attempts: delivery.attempts,
        lastStatus: delivery.lastStatus,
        lastError: delivery.lastError,
        nextAttemptAt: delivery.nextAttemptAt,
      },
      {
        id,
        endpointId: s.endpoint,
        offset: event!.offset,
        eventId: event!.id,
        eventType: 'com.example.failing',
        attempts: 3,
        lastStatus: 500,
        lastError: 'HTTP 500: still down',
        nextAttemptAt: null,
      },
    );
    assert.deepEqual(
      delivery.attemptLog.map((a) => [a.status, a.error, a.responseBody]),
      [
        [500, 'HTTP 500: upstream exploded: database is down', bodies[0]],
        [503, 'HTTP 503: maintenance', 'maintenance'],
        [500, 'HTTP 500: still down', 'still down'],
      ],
    );
    for (const attempt of delivery.attemptLog) {
      assert.ok(attempt.durationMs >= 15 && attempt.durationMs < 5000, `durationMs ${attempt.durationMs}`);
      assert.ok(Date.parse(attempt.at) >= Date.parse(delivery.createdAt) - 5);
    }
    assert.equal(delivery.lastAttemptAt !== null && Date.parse(delivery.lastAttemptAt) >= Date.parse(delivery.attemptLog[2]!.at), true);
  });

  test('a delivery waiting for its retry is pending and says when the next attempt is due; the first body is cut at 1 KiB', async (t) => {
    const s = await stack(t, { webhookRetrySchedule: [60_000] }, () => ({ status: 502, body: 'x'.repeat(5000) }));
    const [event] = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.waiting' }]);
    const id = idOf(s, event!.offset);
    await until(async () => (await find(s, id))?.attempts === 1, 'the first attempt');
    const delivery = await json<Full>(await call(s, `/${id}`));
    assert.equal(delivery.status, 'pending');
    const wait = Date.parse(delivery.nextAttemptAt!) - Date.parse(delivery.lastAttemptAt!);
    assert.ok(wait > 50_000 && wait < 70_000, `next attempt in ${wait} ms, the schedule says 60 s ± 10%`);
    assert.equal(delivery.attemptLog[0]!.responseBody, 'x'.repeat(1024));
    assert.ok(delivery.lastError!.length < 400, 'lastError is one short line');
  });
});

describe('listing', () => {
  test('by status, newest first, in pages that follow next to the end without repeating or skipping', async (t) => {
    // Odd events are refused with 400, which WEBHOOK_RETRY_4XX=false fails at once.
    const s = await stack(t, { webhookRetry4xx: false }, (hit) => ({ status: numbered(hit) % 2 ? 400 : 204 }));
    const events = await publishDrafts(
      s.relay,
      s.tenant,
      Array.from({ length: 7 }, (_, n) => ({ type: 'com.example.listed', data: { n } })),
    );
    const finished = async () => (await json<Page>(await call(s, '?status=failed'))).deliveries.length === 3;
    await until(
      async () => (await finished()) && (await json<Page>(await call(s, '?status=succeeded'))).deliveries.length === 4,
      'every delivery to finish',
    );

    const failed = await pages(s, 'status=failed&limit=2');
    assert.deepEqual(
      failed.map((p) => p.deliveries.length),
      [2, 1],
    );
    const succeeded = await pages(s, 'status=succeeded&limit=3');
    assert.deepEqual(
      succeeded.map((p) => p.deliveries.length),
      [3, 1],
    );
    const all = await pages(s, 'limit=3');
    const ids = (list: Page[]) => list.flatMap((p) => p.deliveries.map((d) => d.id)).sort();
    assert.deepEqual(ids(all), events.map((e) => idOf(s, e.offset)).sort(), 'every delivery once');
    assert.deepEqual(
      ids(failed),
      events.filter((_, n) => n % 2).map((e) => idOf(s, e.offset)),
    );
    for (const d of failed.flatMap((p) => p.deliveries)) assert.deepEqual([d.status, d.lastStatus, d.attempts], ['failed', 400, 1]);
    const times = all.flatMap((p) => p.deliveries.map((d) => Date.parse(d.lastAttemptAt!)));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
  });
});

describe('refusals', () => {
  test('unknown ids answer 404, bad status, limit and cursor 400, another tenant’s token 403, each with the shared error body', async (t) => {
    const s = await stack(t, {}, () => ({ status: 204 }));
    const [event] = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.one' }]);
    await until(async () => (await json<Page>(await call(s, '?status=succeeded'))).deliveries.length === 1, 'the delivery');
    const expect = async (res: Promise<Response>, status: number, code: string, message: RegExp) => {
      const body = await json<{ error: { code: string; message: string } }>(await res, status);
      assert.equal(body.error.code, code);
      assert.match(body.error.message, message);
    };
    for (const id of [idOf(s, '1-0'), 'msg_other-tenant_1-0', 'nope', `msg_${s.tenant}_0`]) {
      await expect(call(s, `/${id}`), 404, 'TC_ERR_NOT_FOUND', /has no delivery/);
      await expect(call(s, `/${id}/retry`, 'POST'), 404, 'TC_ERR_NOT_FOUND', /has no delivery/);
    }
    const unknownEndpoint = { ...s, endpoint: `wh_${'0'.repeat(32)}` };
    await expect(call(unknownEndpoint, `/${idOf(s, event!.offset)}`), 404, 'TC_ERR_NOT_FOUND', /no webhook endpoint/);
    await expect(call(unknownEndpoint, ''), 404, 'TC_ERR_NOT_FOUND', /no webhook endpoint/);
    await expect(call(unknownEndpoint, '/retry-failed', 'POST'), 404, 'TC_ERR_NOT_FOUND', /no webhook endpoint/);
    await expect(call(s, '?status=done'), 400, 'TC_ERR_BAD_REQUEST', /pending, succeeded, failed/);
    await expect(call(s, '?status=failed&status=pending'), 400, 'TC_ERR_BAD_REQUEST', /more than once/);
    for (const limit of ['0', '1001', 'x', '-1', '2.5']) await expect(call(s, `?limit=${limit}`), 400, 'TC_ERR_BAD_LIMIT', /1 to 1000/);
    for (const cursor of ['garbage', Buffer.from('1.x').toString('base64url'), Buffer.from('abc.1-0').toString('base64url')]) {
      await expect(call(s, `?cursor=${cursor}`), 400, 'TC_ERR_BAD_REQUEST', /"next" of the previous page/);
    }

    const other = await s.relay.token({ scope: 'admin', tenants: [uniqueTenant('other')] });
    const publisher = await s.relay.token({ scope: 'publish subscribe', tenants: [s.tenant] });
    for (const [token, code] of [
      [other, 'TC_ERR_FORBIDDEN_TENANT'],
      [publisher, 'TC_ERR_FORBIDDEN_SCOPE'],
    ] as const) {
      await expect(call(s, '', 'GET', token), 403, code, /./);
      await expect(call(s, `/${idOf(s, event!.offset)}`, 'GET', token), 403, code, /./);
      await expect(call(s, `/${idOf(s, event!.offset)}/retry`, 'POST', token), 403, code, /./);
      await expect(call(s, '/retry-failed', 'POST', token), 403, code, /./);
    }
  });
});

describe('retries', () => {
  test('retry and retry-failed deliver again under the same webhook-id; a succeeded delivery can be resent', async (t) => {
    let broken = true;
    const s = await stack(t, { webhookRetry4xx: false }, () => (broken ? { status: 400, body: 'bad config' } : { status: 204 }));
    const events = await publishDrafts(
      s.relay,
      s.tenant,
      Array.from({ length: 3 }, (_, n) => ({ type: 'com.example.retried', data: { n } })),
    );
    const ids = events.map((e) => idOf(s, e.offset));
    await until(async () => (await json<Page>(await call(s, '?status=failed'))).deliveries.length === 3, 'three failed deliveries');
    broken = false;

    const one = await json<{ id: string; status: string }>(await call(s, `/${ids[0]}/retry`, 'POST'), 202);
    assert.deepEqual(one, { id: ids[0], status: 'pending' });
    await until(async () => (await json<Full>(await call(s, `/${ids[0]}`))).status === 'succeeded', 'the retried delivery');
    const retried = await json<Full>(await call(s, `/${ids[0]}`));
    assert.deepEqual(
      retried.attemptLog.map((a) => a.status),
      [400, 204],
    );
    assert.deepEqual([retried.lastStatus, retried.lastError], [204, null]);

    assert.deepEqual(await json(await call(s, '/retry-failed', 'POST'), 202), { retried: 2 });
    await until(async () => (await json<Page>(await call(s, '?status=succeeded'))).deliveries.length === 3, 'every delivery succeeded');
    assert.deepEqual(await json(await call(s, '/retry-failed', 'POST'), 202), { retried: 0 }, 'nothing failed is left');

    // A resend of a succeeded delivery.
    await json(await call(s, `/${ids[1]}/retry`, 'POST'), 202);
    await until(async () => (await json<Full>(await call(s, `/${ids[1]}`))).attempts === 3, 'the resend');
    const sent = s.receiver.hits.filter((hit) => hit.status === 204).map((hit) => String(hit.headers['webhook-id']));
    assert.deepEqual(sent.sort(), [ids[0], ids[1], ids[1], ids[2]].sort(), 'the webhook-ids the receiver saw fail');
  });

  test('a tenant at its cap of deliveries outstanding gets 429 for a retry, as for a replay', async (t) => {
    const s = await stack(t, { webhookMaxOutstandingPerTenant: 2, webhookRetrySchedule: [60_000] }, () => ({ status: 503 }));
    const events = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.stuck' }, { type: 'com.example.stuck' }]);
    await until(() => s.receiver.hits.length >= 2, 'the first attempts');
    const res = await call(s, `/${idOf(s, events[0]!.offset)}/retry`, 'POST');
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TC_ERR_TOO_MANY_DELIVERIES');
    assert.equal((await call(s, '/retry-failed', 'POST')).status, 429);
  });
});
