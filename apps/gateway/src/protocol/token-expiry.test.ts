import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_TIMER_MS, nextExpiryWait, onTokenExpiry, TokenLifetime, warningTime } from './token-expiry.ts';

const DAY_MS = 24 * 3600 * 1000;

describe('the next wait before a token expiry', () => {
  const now = Date.UTC(2026, 0, 1);

  test('is the time left while it fits a timer', () => {
    assert.equal(nextExpiryWait(now / 1000 + 2, now), 2000);
    assert.equal(nextExpiryWait(now / 1000 + 20 * 24 * 3600, now), 20 * DAY_MS);
    assert.equal(nextExpiryWait((now + MAX_TIMER_MS) / 1000, now), MAX_TIMER_MS);
  });

  test('is at most 2^31 - 1 ms for an exp further ahead (setTimeout would overflow and fire at once)', () => {
    assert.equal(nextExpiryWait(now / 1000 + 40 * 24 * 3600, now), MAX_TIMER_MS);
    assert.equal(nextExpiryWait(now / 1000 + 10 * 365 * 24 * 3600, now), MAX_TIMER_MS);
    // After the first step, what is left.
    assert.equal(nextExpiryWait(now / 1000 + 40 * 24 * 3600, now + MAX_TIMER_MS), 40 * DAY_MS - MAX_TIMER_MS);
  });

  test('is 0 once exp has passed, to the second as jose reads it (expired when exp <= now)', () => {
    assert.equal(nextExpiryWait(now / 1000, now), 0);
    assert.equal(nextExpiryWait(now / 1000 - 60, now), 0);
  });
});

describe('onTokenExpiry', () => {
  test('an exp 40 days ahead fires at exp, not before: the timer re-arms in steps', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1) });
    const exp = Date.now() / 1000 + 40 * 24 * 3600;
    let fired = 0;
    onTokenExpiry(exp, () => fired++);
    t.mock.timers.tick(1);
    assert.equal(fired, 0, 'a wait past 2^31 - 1 ms does not fire at once');
    t.mock.timers.tick(MAX_TIMER_MS);
    assert.equal(fired, 0, 'nor after the first step');
    t.mock.timers.tick(exp * 1000 - Date.now() - 1);
    assert.equal(fired, 0, 'nor 1 ms before exp');
    t.mock.timers.tick(1);
    assert.equal(fired, 1, 'at exp');
    t.mock.timers.tick(100 * DAY_MS);
    assert.equal(fired, 1, 'once');
  });

  test('a near exp fires at exp, asynchronously even when already due', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1) });
    let fired = 0;
    onTokenExpiry(Date.now() / 1000 + 2, () => fired++);
    t.mock.timers.tick(1999);
    assert.equal(fired, 0);
    t.mock.timers.tick(1);
    assert.equal(fired, 1);
    onTokenExpiry(Date.now() / 1000 - 1, () => fired++);
    assert.equal(fired, 1, 'not within the call');
    t.mock.timers.tick(0);
    assert.equal(fired, 2);
  });

  test('cancel() stops it, and a token without exp never fires', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1) });
    let fired = 0;
    const timer = onTokenExpiry(Date.now() / 1000 + 40 * 24 * 3600, () => fired++);
    t.mock.timers.tick(MAX_TIMER_MS);
    timer.cancel();
    onTokenExpiry(undefined, () => fired++);
    t.mock.timers.tick(100 * DAY_MS);
    assert.equal(fired, 0);
  });
});

describe('the warning before a token expires', () => {
  const now = Date.UTC(2026, 0, 1);

  test('comes warningSeconds before exp, or halfway through what is left for a shorter-lived token', () => {
    assert.equal(warningTime(now / 1000 + 3600, now, 30), now / 1000 + 3570);
    assert.equal(warningTime(now / 1000 + 60, now, 30), now / 1000 + 30);
    assert.equal(warningTime(now / 1000 + 4, now, 30), now / 1000 + 2);
    assert.equal(warningTime(now / 1000 - 5, now, 30), now / 1000 - 5, 'an expired token: at once');
  });

  test('TokenLifetime warns, then expires; a refresh moves both; the same exp again is not warned twice', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now });
    const seen: string[] = [];
    const lifetime = new TokenLifetime(() => seen.push('expired'), {
      seconds: 30,
      onWarning: (exp) => seen.push(`warn ${exp - now / 1000}`),
    });
    lifetime.watch(now / 1000 + 60);
    t.mock.timers.tick(29_999);
    assert.deepEqual(seen, []);
    t.mock.timers.tick(1);
    assert.deepEqual(seen, ['warn 60']);
    lifetime.watch(now / 1000 + 60);
    lifetime.watch(now / 1000 + 120);
    t.mock.timers.tick(30_000);
    assert.deepEqual(seen, ['warn 60'], 'the old exp no longer closes it');
    t.mock.timers.tick(30_000);
    assert.deepEqual(seen, ['warn 60', 'warn 120']);
    t.mock.timers.tick(30_000);
    assert.deepEqual(seen, ['warn 60', 'warn 120', 'expired']);
    lifetime.watch(now / 1000 + 500);
    lifetime.cancel();
    t.mock.timers.tick(1000_000);
    assert.equal(seen.length, 3, 'cancel() stops both');
  });
});
