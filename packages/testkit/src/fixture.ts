import { after, before } from 'node:test';
import { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.ts';

// Suite-wide setup in one line: a fixture's parts start in the suite's `before` hook, not when the
// file is loaded, so they are read through an object that fails loudly when read too early.
// At a file's top level Node 20 starts `before` hooks as they are registered, without waiting for one
// another: another top-level `before` cannot build on the parts. Inside a describe, hooks run in turn.

/** Registers something to close when the suite ends; closes run last registered first. */
export type OnClose = (close: () => unknown) => void;

/**
 * Runs `start`, which registers a close for each part it starts with `onClose`, and resolves with its
 * parts and a `close()` that closes them, last started first (the same promise if called again).
 * When `start` throws, what did start is closed before the error goes on: a redis-server left running
 * would keep the test process alive. For a test of its own: register `close` with `t.after`.
 */
export async function startFixture<T extends object>(start: (onClose: OnClose) => Promise<T>): Promise<T & { close(): Promise<void> }> {
  const closes: Array<() => unknown> = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= closeAll(...[...closes].reverse());
    return closing;
  };
  try {
    return { ...(await start((part) => closes.push(part))), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * `startFixture` for the calling file or describe block: starts in its `before` hook and closes in
 * its `after` hook. Returns the parts `start` resolves with; reading one before the hook ran throws,
 * naming the fixture and the part.
 * @example
 * const fixture = useFixture('useRedisServer()', async (onClose) => {
 *   const redis = await startRedisServer();
 *   onClose(() => redis.stop());
 *   return { redis };
 * });
 */
export function useFixture<T extends object>(name: string, start: (onClose: OnClose) => Promise<T>): T {
  let parts: (T & { close(): Promise<void> }) | undefined;
  before(async () => {
    parts = await startFixture(start);
  });
  after(() => parts?.close());
  return new Proxy({} as T, {
    get(_target, part) {
      if (parts === undefined) {
        throw new Error(
          `${name}: ${String(part)} is not started. Read it inside a test or a hook: it starts in the suite's before hook (check that the hook did not fail).`,
        );
      }
      return Reflect.get(parts, part);
    },
  });
}

/** Runs every close in turn even when one throws, so that Redis still stops; then throws what failed. */
export async function closeAll(...closes: Array<(() => unknown) | undefined>): Promise<void> {
  const errors: unknown[] = [];
  for (const close of closes) {
    try {
      await close?.();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} closes failed`);
}

/** A redis-server of the calling file or describe block (see `useFixture`). */
export function useRedisServer(options: RedisServerOptions = {}): { readonly redis: RedisServer } {
  return useFixture('useRedisServer()', async (onClose) => {
    const redis = await startRedisServer(options);
    onClose(() => redis.stop());
    return { redis };
  });
}
