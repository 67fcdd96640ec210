import type { EventPredicate } from '@tenantcast/sdk';
import type { Entry } from '../fanout/entry.ts';
import type { Subscriber } from '../fanout/subscriber.ts';
import type { Connection } from './connection.ts';

/**
 * Plain CloudEvents mode: one subscription per connection; each text frame is one structured-mode
 * CloudEvent with the `relayoffset` extension (CloudEvents WebSocket binding, JSON format). One
 * object per connection, its methods on the prototype: an idle connection holds no closures for it.
 */
class PlainSubscriber implements Subscriber {
  last: string;
  readonly #connection: Connection;
  readonly #predicate: EventPredicate | undefined;

  constructor(connection: Connection, start: string, predicate: EventPredicate | undefined) {
    this.last = start;
    this.#connection = connection;
    this.#predicate = predicate;
  }

  matches(entry: Entry): boolean {
    return this.#predicate === undefined || this.#predicate(entry.event);
  }

  send(entry: Entry): void {
    this.#connection.sendFrame(entry.wire);
  }

  get closed(): boolean {
    return this.#connection.closed;
  }

  drain(): Promise<void> {
    return this.#connection.drain();
  }

  close(code: number, reason: string): void {
    this.#connection.close(code, reason);
  }
}

/** The subscriber of a plain-mode connection, starting after `start`. */
export function plainSubscriber(connection: Connection, start: string, predicate: EventPredicate | undefined): Subscriber {
  return new PlainSubscriber(connection, start, predicate);
}
