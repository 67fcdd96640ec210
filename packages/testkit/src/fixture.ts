import { after, before } from 'node:test';
import { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.ts';

// Suite-wide setup in one line: a fixture's parts start in the suite's `before` hook, not when the
// file is loaded, so they are read through an object that fails loudly when read too early.
// At a file's top level Node 20 starts `before` hooks as they are registered, without waiting for one
// another: another top-level `before` cannot build on the parts. Inside a describe, hooks run in turn.

/** Registers something to close when the suite ends; closes run last registered first. */
export type OnClose = (close: () => unknown) => void;

/**
 * Starts a fixture in a `before` hook of the calling file or describe block, and closes what it
 * registered with `onClose`, last first, in an `after` hook, even when a start failed half way.
 * Returns the parts `start` resolves with; reading one before the hook ran throws, naming the
 * fixture and the part.
 * @example
 * const fixture = useFixture('useRedisServer()', async (onClose) => {
 *   const redis = await startRedisServer();
 *   onClose(() => redis.stop());
 *   return { redis };
 * });
 */
export function useFixture<T extends object>(name: string, start: (onClose: OnClose) => Promise<T>): T {
  let parts: T | undefined;
  const closes: Array<() => unknown> = [];
  before(async () => {
    parts = await start((close) => closes.push(close));
  });
  after(() => closeAll(...closes.reverse()));
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
