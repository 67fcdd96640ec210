import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AsyncQueue } from './async-queue.ts';

/** A queue whose `onReturn` calls are counted. */
function queue<T>(): { q: AsyncQueue<T>; returns: () => number } {
  let returns = 0;
  const q = new AsyncQueue<T>(() => {
    returns++;
  });
  return { q, returns: () => returns };
}

describe('AsyncQueue', () => {
  test('yields items pushed before next() in order', async () => {
    const { q } = queue<number>();
    q.push(1);
    q.push(2);
    assert.deepEqual(await q.next(), { value: 1, done: false });
    assert.deepEqual(await q.next(), { value: 2, done: false });
  });

  test('a push wakes a reader that is waiting', async () => {
    const { q } = queue<string>();
    const pending = q.next();
    q.push('a');
    assert.deepEqual(await pending, { value: 'a', done: false });
  });

  test('end() finishes a waiting reader', async () => {
    const { q } = queue<string>();
    const pending = q.next();
    q.end();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.deepEqual(await q.next(), { value: undefined, done: true });
  });

  test('end() lets what is queued be read first', async () => {
    const { q } = queue<number>();
    q.push(1);
    q.push(2);
    q.end();
    const seen: number[] = [];
    for await (const item of q) seen.push(item);
    assert.deepEqual(seen, [1, 2]);
  });

  test('fail() rejects a waiting reader with the error', async () => {
    const { q } = queue<number>();
    const pending = q.next();
    const error = new Error('boom');
    q.fail(error);
    await assert.rejects(pending, (e) => e === error);
    await assert.rejects(q.next(), (e) => e === error);
  });

  test('fail() rejects only after what is queued has been read', async () => {
    const { q } = queue<number>();
    q.push(1);
    q.push(2);
    const error = new Error('late');
    q.fail(error);
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of q) seen.push(item);
      })(),
      (e) => e === error,
    );
    assert.deepEqual(seen, [1, 2]);
  });

  test('fail() without an error still rejects', async () => {
    const { q } = queue<number>();
    q.fail(undefined);
    await assert.rejects(q.next(), /subscription failed/);
  });

  test('the first of end() and fail() wins; pushes after it are dropped', async () => {
    const { q } = queue<number>();
    q.end();
    q.fail(new Error('ignored'));
    q.push(3);
    assert.deepEqual(await q.next(), { value: undefined, done: true });

    const { q: failed } = queue<number>();
    const error = new Error('first');
    failed.fail(error);
    failed.end();
    failed.push(3);
    await assert.rejects(failed.next(), (e) => e === error);
  });

  test('return() drops what is queued, ends the iteration and calls onReturn once per call', async () => {
    const { q, returns } = queue<number>();
    q.push(1);
    q.push(2);
    assert.deepEqual(await q.return(), { value: undefined, done: true });
    assert.equal(returns(), 1);
    assert.deepEqual(await q.next(), { value: undefined, done: true });
    q.push(3);
    assert.deepEqual(await q.next(), { value: undefined, done: true });
  });

  test('break out of for-await calls onReturn', async () => {
    const { q, returns } = queue<number>();
    q.push(1);
    q.push(2);
    q.push(3);
    const seen: number[] = [];
    for await (const item of q) {
      seen.push(item);
      if (item === 2) break;
    }
    assert.deepEqual(seen, [1, 2]);
    assert.equal(returns(), 1);
    assert.deepEqual(await q.next(), { value: undefined, done: true });
  });

  test('an exception thrown in the loop body calls onReturn too', async () => {
    const { q, returns } = queue<number>();
    q.push(1);
    await assert.rejects(
      (async () => {
        for await (const _ of q) throw new Error('body');
      })(),
      /body/,
    );
    assert.equal(returns(), 1);
  });

  test('is its own async iterator', () => {
    const { q } = queue<number>();
    assert.equal(q[Symbol.asyncIterator](), q);
  });
});
