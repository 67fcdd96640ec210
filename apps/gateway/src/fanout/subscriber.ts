import type { Entry } from './entry.ts';

/**
 * One subscription to a tenant's events, as a hub sees it. The hub calls these for every subscriber
 * and every live event: implementations are classes with their methods on the prototype (no
 * closures per connection), and `send` only queues the event's prebuilt frame (`Entry.wire`) on the
 * connection, which writes what a turn queued at its end (protocol/connection.ts).
 */
export interface Subscriber {
  /** The last offset this subscriber has been given (or passed over by its filter); the hub moves it. */
  last: string;
  /** Whether the subscriber wants the entry (its filters). */
  matches(entry: Entry): boolean;
  /**
   * Sends an entry; the subscriber closes itself when it cannot keep up. `alone`: the entry is a
   * notification's only one and the hub has nothing queued, so the frame may leave at once.
   */
  send(entry: Entry, alone?: boolean): void;
  /** Whether it is gone (closed); a hub drops it. */
  readonly closed: boolean;
  /** Resolves once the client's send buffer has room again (at once when it has): catch-up waits on it. */
  drain(): Promise<void>;
  /** Ends the subscription with a close code of docs/protocol.md, so that the client resumes. */
  close(code: number, reason: string): void;
}
