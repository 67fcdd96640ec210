import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startRedisServer, uniqueKeyPrefix, useFixture } from '@tenantcast/testkit';
import { Redis } from 'ioredis';
import type { ServiceError } from '../errors.ts';
import { dedupeHash } from './dedupe.ts';
import { tenantKeys } from './keys.ts';
import { compareOffsets } from './offsets.ts';
import { StreamAppender, type StreamAppenderOptions } from './stream-appender.ts';
import { StreamReader } from './stream-reader.ts';

/** A redis-server of the suite's own, and a client of it. */
const fixture = useFixture('a redis-server and a client', async (onClose) => {
  const server = await startRedisServer();
  onClose(() => server.stop());
  const redis = new Redis(server.url);
  onClose(() => redis.quit());
  return { server, redis };
});

/** The two sides of one key prefix: the appender writes, the reader reads back. */
function store(overrides: Partial<StreamAppenderOptions> = {}) {
  const options: StreamAppenderOptions = {
    keyPrefix: uniqueKeyPrefix('t'),
    streamMaxLen: 0,
    streamMaxAgeSeconds: 0,
    dedupeWindowSeconds: 60,
    rateLimitFor: () => 0,
    ...overrides,
  };
  const appender = new StreamAppender(fixture.redis, options);
  const reader = new StreamReader(fixture.redis, options);
  return {
    keys: (tenant: string) => reader.keys(tenant),
    append: appender.append.bind(appender),
    read: reader.read.bind(reader),
    lastOffset: reader.lastOffset.bind(reader),
    origins: reader.origins.bind(reader),
  };
}

function ev(id: string, source = 'src'): { id: string; source: string; json: string } {
  return { id, source, json: JSON.stringify({ id, source, n: id }) };
}

describe('stream storage', () => {
  test('keys of a tenant share one hash tag', () => {
    const keys = tenantKeys('tc:', 'acme.EU-1_x');
    for (const key of Object.values(keys)) assert.match(key, /^tc:\{acme\.EU-1_x\}:/);
  });

  test('appends in order and reads back what was stored', async () => {
    const s = store();
    const results = await s.append('acme', [ev('a'), ev('b'), ev('c')]);
    assert.equal(results.length, 3);
    assert.ok(results.every((r) => !r.duplicate));
    assert.ok(compareOffsets(results[0]!.offset, results[1]!.offset) < 0);
    assert.ok(compareOffsets(results[1]!.offset, results[2]!.offset) < 0);
    const { entries, more } = await s.read('acme', '0', 10);
    assert.equal(more, false);
    assert.deepEqual(
      entries.map((e) => e.offset),
      results.map((r) => r.offset),
    );
    assert.deepEqual(
      entries.map((e) => JSON.parse(e.json).id),
      ['a', 'b', 'c'],
    );
  });

  test('a duplicate (same source and id) returns the first offset and is stored once', async () => {
    const s = store();
    const [first] = await s.append('acme', [ev('x')]);
    const [again] = await s.append('acme', [ev('x')]);
    assert.deepEqual(again, { offset: first!.offset, duplicate: true });
    const inBatch = await s.append('acme', [ev('y'), ev('y')]);
    assert.equal(inBatch[1]!.duplicate, true);
    assert.equal(inBatch[1]!.offset, inBatch[0]!.offset);
    const { entries } = await s.read('acme', '0', 10);
    assert.deepEqual(
      entries.map((e) => JSON.parse(e.json).id),
      ['x', 'y'],
    );
  });

  test('one append of 9,000 events (past what Lua can unpack at once) dedupes against stored events and within itself', async () => {
    // The script looks the pairs up with MGET in chunks of 1,000: duplicates on both sides of a chunk's edge.
    const s = store();
    const [stored] = await s.append('acme', [ev('old')]);
    const events = Array.from({ length: 9000 }, (_, i) => ev(`e${i}`));
    events[999] = ev('old');
    events[1000] = ev('e5');
    events[8999] = ev('e1');
    const results = await s.append('acme', events);
    assert.equal(results.length, 9000);
    assert.deepEqual(results[999], { offset: stored!.offset, duplicate: true });
    assert.deepEqual(results[1000], { offset: results[5]!.offset, duplicate: true });
    assert.deepEqual(results[8999], { offset: results[1]!.offset, duplicate: true });
    assert.equal(results.filter((r) => r.duplicate).length, 3);
    const { entries } = await s.read('acme', stored!.offset, 10_000);
    assert.equal(entries.length, 8997);
  });

  test('dedupe is scoped by source and by tenant', async () => {
    const s = store();
    const [a] = await s.append('acme', [ev('same', 'one')]);
    const [b] = await s.append('acme', [ev('same', 'two')]);
    const [c] = await s.append('globex', [ev('same', 'one')]);
    assert.equal(b!.duplicate, false);
    assert.equal(c!.duplicate, false);
    assert.notEqual(a!.offset, b!.offset);
  });

  test('the dedupe hash separates source from id', () => {
    assert.notEqual(dedupeHash('a', 'bc'), dedupeHash('ab', 'c'));
    assert.equal(dedupeHash('a', 'b'), dedupeHash('a', 'b'));
  });

  test('the dedupe key expires after the window', async () => {
    const s = store({ dedupeWindowSeconds: 1 });
    const [first] = await s.append('acme', [ev('w')]);
    const ttl = await fixture.redis.ttl(`${s.keys('acme').dedupePrefix}${dedupeHash('src', 'w')}`);
    assert.ok(ttl >= 0 && ttl <= 1, `ttl ${ttl}`);
    await new Promise((r) => setTimeout(r, 2100));
    const [second] = await s.append('acme', [ev('w')]);
    assert.equal(second!.duplicate, false);
    assert.notEqual(second!.offset, first!.offset);
  });

  test('each write publishes one live notification: the previous offset, then each new entry', async () => {
    const s = store();
    const sub = new Redis(fixture.server.url);
    try {
      const messages: string[] = [];
      await sub.subscribe(s.keys('acme').live);
      sub.on('message', (_channel, message) => messages.push(message));
      const first = await s.append('acme', [ev('n1'), ev('n2')]);
      await s.append('acme', [ev('n1')]); // duplicate only: no notification
      const second = await s.append('acme', [ev('n3')]);
      await waitFor(() => messages.length >= 2);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(messages.length, 2);
      const lines = messages[0]!.split('\n');
      assert.equal(lines[0], '0-0');
      assert.equal(lines[1], `${first[0]!.offset} ${ev('n1').json}`);
      assert.equal(lines[2], `${first[1]!.offset} ${ev('n2').json}`);
      assert.deepEqual(messages[1]!.split('\n'), [first[1]!.offset, `${second[0]!.offset} ${ev('n3').json}`]);
    } finally {
      sub.disconnect();
    }
  });

  test('MAXLEN trims old entries, and a read after a trimmed offset is refused as expired', async () => {
    const s = store({ streamMaxLen: 10 });
    const firsts = await s.append('acme', [ev('t0')]);
    // Approximate trimming (~) removes whole radix-tree nodes (100 entries by default); write enough to trim.
    for (let i = 0; i < 5; i++)
      await s.append(
        'acme',
        Array.from({ length: 100 }, (_, j) => ev(`t${i}-${j}`)),
      );
    const length = await fixture.redis.xlen(s.keys('acme').stream);
    assert.ok(length < 501, `stream length ${length} should have been trimmed`);
    await assert.rejects(s.read('acme', firsts[0]!.offset, 10), (error: ServiceError) => error.code === 'TC_ERR_OFFSET_EXPIRED');
    const fromStart = await s.read('acme', '0', 5);
    assert.equal(fromStart.entries.length, 5);
  });

  test('age retention trims entries older than the max age', async () => {
    const s = store({ streamMaxAgeSeconds: 1 });
    const stream = s.keys('acme').stream;
    // Entries whose ids are two seconds old, as if written then.
    const old = Date.now() - 2000;
    for (let i = 0; i < 150; i++) await fixture.redis.xadd(stream, `${old}-${i}`, 'e', '{}');
    await s.append('acme', [ev('fresh')]);
    const entries = await fixture.redis.xrange(stream, '-', '+');
    assert.ok(entries.length < 151, `old entries should have been trimmed, ${entries.length} left`);
    assert.equal(JSON.parse(entries.at(-1)![1][1]!).id, 'fresh');
  });

  test('the rate limit refuses a write whole, and a batch larger than the limit', async () => {
    const s = store({ rateLimitFor: (tenant) => (tenant === 'slow' ? 3 : 0) });
    // The limit counts events per second of Redis's clock: start early in a second, so that the two
    // writes fall in the same one however slow the machine is (they failed at a second boundary).
    const [, micros] = await fixture.redis.time();
    if (Number(micros) > 200_000) await new Promise((resolve) => setTimeout(resolve, (1_000_000 - Number(micros)) / 1000 + 5));
    await s.append('slow', [ev('r1'), ev('r2')]);
    await assert.rejects(s.append('slow', [ev('r3'), ev('r4')]), (error: ServiceError) => {
      assert.equal(error.code, 'TC_ERR_RATE_LIMITED');
      assert.ok(error.retryAfter !== undefined && error.retryAfter >= 1);
      return true;
    });
    await assert.rejects(s.append('slow', [ev('a'), ev('b'), ev('c'), ev('d')]), /over tenant "slow"'s limit of 3/);
    const { entries } = await s.read('slow', '0', 10);
    assert.deepEqual(
      entries.map((e) => JSON.parse(e.json).id),
      ['r1', 'r2'],
    );
    // Another tenant is not limited.
    assert.equal((await s.append('fast', [ev('f1'), ev('f2'), ev('f3'), ev('f4')])).length, 4);
  });

  test('reads page with limit and report whether more follow', async () => {
    const s = store();
    const written = await s.append(
      'acme',
      Array.from({ length: 7 }, (_, i) => ev(`p${i}`)),
    );
    const page1 = await s.read('acme', '0', 3);
    assert.equal(page1.more, true);
    const page2 = await s.read('acme', page1.entries.at(-1)!.offset, 3);
    const page3 = await s.read('acme', page2.entries.at(-1)!.offset, 3);
    assert.equal(page3.more, false);
    assert.deepEqual(
      [...page1.entries, ...page2.entries, ...page3.entries].map((e) => e.offset),
      written.map((w) => w.offset),
    );
  });

  test('a tenant with no stream reads as empty', async () => {
    assert.deepEqual(await store().read('nobody', '0', 10), { entries: [], more: false });
  });

  test('compareOffsets orders numerically, not lexically', () => {
    assert.ok(compareOffsets('9-0', '10-0') < 0);
    assert.ok(compareOffsets('10-2', '10-10') < 0);
    assert.equal(compareOffsets('5-5', '5-5'), 0);
    assert.ok(compareOffsets('18446744073709551615-1', '18446744073709551615-0') > 0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('stream storage: retention checks', () => {
  test('reading after the predecessor of the oldest entry is not expired (nothing unseen was trimmed)', async () => {
    const s = store({ streamMaxLen: 1 });
    const written: string[] = [];
    for (let i = 0; i < 300; i++) written.push((await s.append('acme', [ev(`k${i}`)]))[0]!.offset);
    const [oldest] = await fixture.redis.xrange(s.keys('acme').stream, '-', '+', 'COUNT', 1);
    const index = written.indexOf(oldest![0]);
    assert.ok(index > 0, 'some entries were trimmed');
    // The client saw the entry just before the oldest retained one: nothing it has not seen is gone.
    const page = await s.read('acme', written[index - 1]!, 1);
    assert.equal(page.entries[0]!.offset, oldest![0]);
    // One step further back, an entry it had not seen was trimmed.
    await assert.rejects(s.read('acme', written[index - 2]!, 1), /trimmed by retention/);
  });

  test('a stream emptied by retention still reports offsets before its last id as expired', async () => {
    const s = store();
    const [w] = await s.append('acme', [ev('gone')]);
    const [w2] = await s.append('acme', [ev('gone2')]);
    await fixture.redis.xtrim(s.keys('acme').stream, 'MAXLEN', 0);
    await assert.rejects(s.read('acme', w!.offset, 10), /trimmed by retention/);
    assert.deepEqual(await s.read('acme', w2!.offset, 10), { entries: [], more: false });
  });
});

describe('stream storage: offsets past the end', () => {
  const ahead = (error: ServiceError) => error.code === 'TC_ERR_OFFSET_AHEAD' && error.status === 409;

  test('an offset past the last one is refused; the last one itself, and any before it, are read', async () => {
    const s = store();
    const written = await s.append('acme', [ev('a1'), ev('a2')]);
    const last = written[1]!.offset;
    assert.deepEqual(await s.read('acme', last, 10), { entries: [], more: false });
    assert.equal((await s.read('acme', written[0]!.offset, 10)).entries[0]!.offset, last);
    const [ms, seq] = last.split('-');
    for (const past of [
      `${ms}-${Number(seq) + 1}`,
      `${Number(ms) + 1}-0`,
      '9999999999999-0',
      '18446744073709551615-18446744073709551615',
    ]) {
      await assert.rejects(s.read('acme', past, 10), ahead, past);
    }
  });

  test('a stream emptied by retention is ahead of nothing up to its last id', async () => {
    const s = store();
    const [w] = await s.append('acme', [ev('e1')]);
    await fixture.redis.xtrim(s.keys('acme').stream, 'MAXLEN', 0);
    assert.deepEqual(await s.read('acme', w!.offset, 10), { entries: [], more: false });
    await assert.rejects(s.read('acme', `${w!.offset.split('-')[0]}-${Number(w!.offset.split('-')[1]) + 1}`, 10), ahead);
  });

  test('a stream that does not exist (never written, or lost by Redis) ends at 0-0', async () => {
    const s = store();
    assert.deepEqual(await s.read('gone', '0', 10), { entries: [], more: false });
    assert.deepEqual(await s.read('gone', '0-0', 10), { entries: [], more: false });
    await assert.rejects(s.read('gone', '0-1', 10), ahead);
    await assert.rejects(s.read('gone', '1700000000000-0', 10), ahead);
  });

  test("pastEnd: 'empty' reads an offset past the end as the end", async () => {
    const s = store();
    await s.append('acme', [ev('x1')]);
    assert.deepEqual(await s.read('acme', '9999999999999-0', 10, { pastEnd: 'empty' }), { entries: [], more: false });
    assert.deepEqual(await s.read('nobody', '9999999999999-0', 10, { pastEnd: 'empty' }), { entries: [], more: false });
  });

  test('handedOut: a stream that no longer holds the offset (written again after Redis lost it) is refused', async () => {
    const s = store();
    const [old] = await s.append('acme', [ev('before')]);
    await fixture.redis.del(s.keys('acme').stream);
    // Written again after the loss, a few ms later: ids go on from the clock, past the lost one, but the new entry follows 0-0.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const [fresh] = await s.append('acme', [ev('after')]);
    assert.ok(compareOffsets(fresh!.offset, old!.offset) > 0);
    await assert.rejects(s.read('acme', old!.offset, 10, { handedOut: true }), ahead);
    // Without the flag, an offset the reader did not get from the stream (a client's) reads what follows it.
    assert.equal((await s.read('acme', old!.offset, 10)).entries[0]!.offset, fresh!.offset);
    // An offset the stream still holds passes.
    const [next] = await s.append('acme', [ev('next')]);
    assert.equal((await s.read('acme', fresh!.offset, 10, { handedOut: true })).entries[0]!.offset, next!.offset);
  });
});

describe('stream storage: last offset and origins', () => {
  test('lastOffset is 0-0 for a tenant never written, then the last entry, even after retention empties the stream', async () => {
    const s = store();
    assert.equal(await s.lastOffset('fresh'), '0-0');
    const written = await s.append('fresh', [ev('l1'), ev('l2')]);
    assert.equal(await s.lastOffset('fresh'), written[1]!.offset);
    await fixture.redis.xtrim(s.keys('fresh').stream, 'MAXLEN', 0);
    assert.equal(await s.lastOffset('fresh'), written[1]!.offset);
  });

  test('origins follow set and delete operations of new events, and ignore duplicates', async () => {
    const s = store();
    const set = (id: string, integration: string, origins: string[] | null) => ({ ...ev(id), origins: { integration, origins } });
    await s.append('web', [set('o1', 'wi-1', ['https://a.example']), set('o2', 'wi/2\n"x"', ['https://b.example', 'c.example'])]);
    assert.deepEqual((await s.origins('web')).sort(), ['c.example', 'https://a.example', 'https://b.example']);
    // A duplicate of o1 carrying other origins changes nothing: only new events apply.
    await s.append('web', [set('o1', 'wi-1', ['https://evil.example'])]);
    assert.ok(!(await s.origins('web')).includes('https://evil.example'));
    await s.append('web', [set('o3', 'wi/2\n"x"', null)]);
    assert.deepEqual(await s.origins('web'), ['https://a.example']);
    assert.deepEqual(await s.origins('other-tenant'), []);
  });
});
