/** A queue read as an async iterator: pushes wake a waiting reader; `end` and `fail` finish it. */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #waiting: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;
  #done = false;
  #error: unknown;
  readonly #onReturn: () => void;

  constructor(onReturn: () => void) {
    this.#onReturn = onReturn;
  }

  push(item: T): void {
    if (this.#done) return;
    if (this.#waiting !== undefined) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting.resolve({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** Ends the iteration once what is queued has been read. */
  end(): void {
    this.#finish(undefined);
  }

  /** Ends the iteration with an error, once what is queued has been read. */
  fail(error: unknown): void {
    this.#finish(error ?? new Error('subscription failed'));
  }

  #finish(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    if (this.#waiting !== undefined && this.#items.length === 0) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (error === undefined) waiting.resolve({ value: undefined, done: true });
      else waiting.reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#done) return this.#error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** A `break` out of `for await` closes the subscription. */
  return(): Promise<IteratorResult<T>> {
    this.#items.length = 0;
    this.#finish(undefined);
    this.#onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
