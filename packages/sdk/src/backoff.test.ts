import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { backoffDelay, parseRetryAfter, sleep } from './backoff.ts';

/** A random source in [0, 1), as Math.random promises. */
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelay', () => {
  test('is a whole number in [0, min(max, base * 2^attempt)) for any random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        unit,
        (attempt, baseMs, maxMs, r) => {
          const delay = backoffDelay(attempt, { baseMs, maxMs }, () => r);
          const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
          assert.ok(Number.isInteger(delay), `delay ${delay} is not whole`);
          assert.ok(delay >= 0 && delay < ceiling, `delay ${delay} not in [0, ${ceiling})`);
        },
      ),
    );
  });

  test('spans its whole window: the lowest random gives 0, the highest nearly the ceiling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        (attempt, baseMs, maxMs) => {
          const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
          assert.equal(
            backoffDelay(attempt, { baseMs, maxMs }, () => 0),
            0,
          );
          assert.equal(
            backoffDelay(attempt, { baseMs, maxMs }, () => 1 - Number.EPSILON),
            Math.ceil(ceiling) - 1,
          );
        },
      ),
    );
  });

  test('the window doubles per attempt until the maximum', () => {
    const top = () => 1 - Number.EPSILON;
    const windows = Array.from({ length: 10 }, (_, attempt) => backoffDelay(attempt, { baseMs: 10, maxMs: 1000 }, top) + 1);
    assert.deepEqual(windows, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
  });

  test('defaults to a base of 100 ms and a maximum of 10 s', () => {
    const top = () => 1 - Number.EPSILON;
    assert.equal(backoffDelay(0, {}, top) + 1, 100);
    assert.equal(backoffDelay(3, {}, top) + 1, 800);
    assert.equal(backoffDelay(50, {}, top) + 1, 10_000);
  });

  test('uses Math.random when no random is given', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), (attempt) => {
        const delay = backoffDelay(attempt, { baseMs: 7, maxMs: 500 });
        assert.ok(delay >= 0 && delay < Math.min(500, 7 * 2 ** attempt));
      }),
    );
  });
});

describe('parseRetryAfter', () => {
  // A whole second, so that HTTP-dates (which have second precision) can be compared exactly.
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  test('reads delay-seconds as milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (seconds) => {
        assert.equal(parseRetryAfter(String(seconds), now), seconds * 1000);
        assert.equal(parseRetryAfter(` ${seconds} `, now), seconds * 1000);
      }),
    );
  });

  test('reads an IMF-fixdate HTTP-date as the time until it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_400 * 400 }), (seconds) => {
        const date = new Date(now + seconds * 1000).toUTCString();
        assert.equal(parseRetryAfter(date, now), seconds * 1000);
      }),
    );
  });

  test('reads the obsolete RFC 850 and asctime forms as GMT (RFC 9110 §5.6.7)', () => {
    const expected = Date.UTC(1994, 10, 6, 8, 49, 37) - Date.UTC(1994, 10, 6, 8, 0, 0);
    const at = Date.UTC(1994, 10, 6, 8, 0, 0);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', at), expected);
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', at), expected);
    assert.equal(parseRetryAfter('Sun Nov  6 08:49:37 1994', at), expected);
  });

  test('an HTTP-date in the past means no wait', () => {
    assert.equal(parseRetryAfter(new Date(now - 60_000).toUTCString(), now), 0);
  });

  test('uses the clock when no time is given', () => {
    const wait = parseRetryAfter(new Date(Date.now() + 60_000).toUTCString());
    assert.ok(wait !== undefined && wait > 55_000 && wait <= 60_000, String(wait));
  });

  for (const garbage of ['soon', 'abc', '1.5', '-1', '+5', '5s', '0x10', 'foo 5', 'Tue 3', '2026-01-01', '12abc', 'in 1 minute']) {
    test(`garbage ${JSON.stringify(garbage)} gives undefined`, () => {
      assert.equal(parseRetryAfter(garbage, now), undefined);
      assert.equal(parseRetryAfter(garbage), undefined);
    });
  }

  for (const empty of ['', '   ', null, undefined]) {
    test(`an absent or empty header (${JSON.stringify(empty)}) gives undefined`, () => {
      assert.equal(parseRetryAfter(empty, now), undefined);
    });
  }
});

describe('sleep', () => {
  test('resolves after the given time and not before', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let done = false;
    const slept = sleep(1000).then(() => {
      done = true;
    });
    t.mock.timers.tick(999);
    await Promise.resolve();
    assert.equal(done, false);
    t.mock.timers.tick(1);
    await slept;
    assert.equal(done, true);
  });

  test('rejects with the reason when the signal aborts', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    const reason = new Error('closing');
    controller.abort(reason);
    await assert.rejects(slept, (error) => error === reason);
  });

  test('rejects at once when the signal has aborted already', async () => {
    const reason = new Error('closed');
    await assert.rejects(sleep(60_000, AbortSignal.abort(reason)), (error) => error === reason);
  });
});
