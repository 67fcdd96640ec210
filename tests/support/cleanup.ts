import { closeAll } from '@tenantcast/testkit';

const cleanups = new WeakMap<object, Array<() => unknown>>();

/**
 * Registers a cleanup for the end of test `t`. Cleanups run last in, first out (node:test runs
 * `t.after` hooks first in, first out), and every one runs even when another fails: a
 * subscription closes before its gateway, a gateway before its Redis.
 */
export function onEnd(t: { after(fn: () => Promise<void>): void }, close: () => unknown): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const created: Array<() => unknown> = [];
    stack = created;
    cleanups.set(t, created);
    t.after(() => closeAll(...created.reverse()));
  }
  stack.push(close);
}
