import { within } from '@tenantcast/testkit';

// Reading a subscription's async iterable in tests, with a deadline.

/**
 * Reads an async iterable without ending it (a `for await` that breaks would close the
 * subscription): `take(n)` resolves with the next `n` items.
 */
export function reader<T>(iterable: AsyncIterable<T>): { take(count: number, what?: string): Promise<T[]> } {
  const iterator = iterable[Symbol.asyncIterator]();
  return {
    async take(count, what = `${count} events`) {
      const items: T[] = [];
      await within(
        (async () => {
          while (items.length < count) {
            const result = await iterator.next();
            if (result.done) throw new Error(`the iteration ended after ${items.length} of ${what}`);
            items.push(result.value);
          }
        })(),
        what,
      );
      return items;
    },
  };
}

/** Reads the iteration to its end; resolves with what it threw, or undefined when it just ended. */
export async function ending(iterable: AsyncIterable<unknown>, what = 'the end of the iteration'): Promise<unknown> {
  return within(
    (async () => {
      try {
        for await (const _ of iterable) {
          // Drain.
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })(),
    what,
  );
}
