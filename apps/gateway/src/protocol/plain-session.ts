import type { EventPredicate } from '@tenantcast/sdk';
import type { Entry } from '../fanout/entry.ts';
import type { Subscriber } from '../fanout/subscriber.ts';
import type { Connection } from './connection.ts';

/**
 * Plain CloudEvents mode: one subscription per connection; each text frame is one structured-mode
 * CloudEvent with the `relayoffset` extension (CloudEvents WebSocket binding, JSON format).
 */
export function plainSubscriber(connection: Connection, start: string, predicate: EventPredicate | undefined): Subscriber {
  return {
    last: start,
    matches: predicate === undefined ? () => true : (entry: Entry) => predicate(entry.event),
    send: (entry: Entry) => {
      connection.send(entry.frame);
    },
    get closed() {
      return connection.closed;
    },
    drain: () => connection.drain(),
    close: (code: number, reason: string) => connection.close(code, reason),
  };
}
