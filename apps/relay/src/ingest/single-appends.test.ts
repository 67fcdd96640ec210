import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareOffsets } from '@tenantcast/sdk';
import { type AppendResult, ServiceError, type StoredEventInput, type StreamAppender } from '@tenantcast/server';
import { makeEvent, uniqueTenant } from '@tenantcast/testkit';
import { eventsApi, STRUCTURED } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';
import { SingleAppends } from './single-appends.ts';

const stack = useRelay();
const { history } = eventsApi(stack);

function publish(event: unknown, url = stack.relay.url): Promise<Response> {
  return fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.token}`, 'content-type': STRUCTURED },
    body: JSON.stringify(event),
  });
}

interface Answer {
  status: number;
  body: { accepted?: Array<{ id: string; offset: string; duplicate: boolean }>; error?: { code: string; message: string } };
  retryAfter: string | null;
}

async function answer(res: Promise<Response>): Promise<Answer> {
  const r = await res;
  return { status: r.status, body: (await r.json()) as Answer['body'], retryAfter: r.headers.get('retry-after') };
}

describe('single-event requests stored together', () => {
  test('concurrent requests of several tenants: each its own answer and offset, every event stored once', async () => {
    const tenants = [uniqueTenant('a'), uniqueTenant('b'), uniqueTenant('c')];
    const events = Array.from({ length: 60 }, (_, i) => makeEvent(tenants[i % 3]!));
    const answers = await Promise.all(events.map((e) => answer(publish(e))));
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 202, JSON.stringify(a.body));
      assert.equal(a.body.accepted!.length, 1);
      assert.equal(a.body.accepted![0]!.id, events[i]!.id);
      assert.equal(a.body.accepted![0]!.duplicate, false);
    }
    for (const t of tenants) {
      const stored = await history(t);
      const mine = answers.filter((_, i) => events[i]!.tenantid === t).map((a) => a.body.accepted![0]!);
      assert.equal(stored.length, mine.length);
      // Each answer names the entry that holds its event.
      const byOffset = new Map(stored.map((s) => [s.offset, s.event]));
      for (const m of mine) assert.equal(byOffset.get(m.offset)?.id, m.id);
      const offsets = stored.map((s) => s.offset);
      assert.deepEqual([...offsets].sort(compareOffsets), offsets);
    }
  });

  test('the same event sent concurrently is stored once; the copies answer with its offset as duplicates', async () => {
    const t = uniqueTenant('dup');
    const event = makeEvent(t);
    const answers = await Promise.all(Array.from({ length: 5 }, () => answer(publish(event))));
    for (const a of answers) assert.equal(a.status, 202);
    const accepted = answers.map((a) => a.body.accepted![0]!);
    assert.equal(accepted.filter((a) => !a.duplicate).length, 1);
    assert.equal(new Set(accepted.map((a) => a.offset)).size, 1);
    assert.equal((await history(t)).length, 1);
  });

  test('over the rate limit, concurrent requests are answered as if sent one by one: the limit passes, the rest 429', async (t) => {
    const limited = await stack.startRelay(t, { rateLimitTenants: { slow: 2 } });
    // The limit counts per second of Redis time: start right after a second begins.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
    const events = Array.from({ length: 5 }, () => makeEvent('slow'));
    const answers = await Promise.all(events.map((e) => answer(publish(e, limited.url))));
    const passed = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(passed.length, 2, JSON.stringify(answers));
    assert.equal(refused.length, 3, JSON.stringify(answers));
    for (const r of refused) {
      assert.equal(r.body.error!.code, 'TC_ERR_RATE_LIMITED');
      assert.match(r.retryAfter ?? '', /^[1-9]\d*$/);
    }
    const stored = await history('slow', limited.url);
    assert.deepEqual(stored.map((s) => s.event.id).sort(), passed.map((a) => a.body.accepted![0]!.id).sort());
  });
});

describe('SingleAppends', () => {
  /** A store that records its calls and answers with `reply`. */
  function fakeStore(
    reply: (tenant: string, events: readonly StoredEventInput[]) => Promise<AppendResult[]>,
    batchLimits = { events: Number.POSITIVE_INFINITY, bytes: Number.POSITIVE_INFINITY },
  ) {
    const calls: Array<{ tenant: string; ids: string[] }> = [];
    const store = {
      batchLimits,
      append(tenant: string, events: readonly StoredEventInput[]) {
        calls.push({ tenant, ids: events.map((e) => e.id) });
        return reply(tenant, events);
      },
    } as unknown as StreamAppender;
    return { store, calls };
  }
  const input = (id: string): StoredEventInput => ({ source: 's', id, json: `{"id":"${id}"}`, origins: undefined });
  const offsets = (events: readonly StoredEventInput[]) => events.map((e) => ({ offset: `1-${e.id}`, duplicate: false }));

  test('one call per tenant for the events of one turn, each promise with its own result', async () => {
    const { store, calls } = fakeStore(async (_t, events) => offsets(events));
    const appends = new SingleAppends(store);
    const results = await Promise.all([appends.append('a', input('1')), appends.append('b', input('2')), appends.append('a', input('3'))]);
    assert.deepEqual(calls, [
      { tenant: 'a', ids: ['1', '3'] },
      { tenant: 'b', ids: ['2'] },
    ]);
    assert.deepEqual(
      results.map((r) => r.offset),
      ['1-1', '1-2', '1-3'],
    );
    // The next turn is a call of its own.
    await appends.append('a', input('4'));
    assert.deepEqual(calls.at(-1), { tenant: 'a', ids: ['4'] });
  });

  test('a merged call refused by the rate limit is retried one event per call, in order', async () => {
    let budget = 1;
    const { store, calls } = fakeStore(async (_t, events) => {
      if (events.length > budget) throw new ServiceError('TC_ERR_RATE_LIMITED', 'over', { retryAfter: 1 });
      budget -= events.length;
      return offsets(events);
    });
    const appends = new SingleAppends(store);
    const settled = await Promise.allSettled([appends.append('a', input('1')), appends.append('a', input('2'))]);
    assert.deepEqual(calls, [
      { tenant: 'a', ids: ['1', '2'] },
      { tenant: 'a', ids: ['1'] },
      { tenant: 'a', ids: ['2'] },
    ]);
    assert.equal(settled[0]!.status, 'fulfilled');
    assert.equal(settled[1]!.status, 'rejected');
    assert.equal(((settled[1] as PromiseRejectedResult).reason as ServiceError).code, 'TC_ERR_RATE_LIMITED');
  });

  test('any other failure of a merged call fails each of its requests', async () => {
    const failure = new Error('connection lost');
    const { store, calls } = fakeStore(async () => {
      throw failure;
    });
    const appends = new SingleAppends(store);
    const settled = await Promise.allSettled([appends.append('a', input('1')), appends.append('a', input('2'))]);
    assert.equal(calls.length, 1);
    for (const s of settled) assert.equal((s as PromiseRejectedResult).reason, failure);
  });

  test('at most 100 events per call', async () => {
    const { store, calls } = fakeStore(async (_t, events) => offsets(events));
    const appends = new SingleAppends(store);
    await Promise.all(Array.from({ length: 250 }, (_, i) => appends.append('a', input(String(i)))));
    assert.deepEqual(
      calls.map((c) => c.ids.length),
      [100, 100, 50],
    );
  });

  test("a call stays within the store's caps on events and bytes; an event over the bytes alone goes alone", async () => {
    // Each input's JSON is 10 bytes ({"id":"1"}); the store takes 3 events and 25 bytes a call.
    const { store, calls } = fakeStore(async (_t, events) => offsets(events), { events: 3, bytes: 25 });
    const appends = new SingleAppends(store);
    const big: StoredEventInput = { source: 's', id: 'big', json: `{"id":"${'x'.repeat(40)}"}`, origins: undefined };
    await Promise.all([
      ...['1', '2', '3'].map((id) => appends.append('a', input(id))),
      appends.append('a', big),
      appends.append('a', input('4')),
    ]);
    assert.deepEqual(
      calls.map((c) => c.ids),
      [['1', '2'], ['3'], ['big'], ['4']],
    );
  });
});
