import { CloseCode, type EventPredicate } from '@tenantcast/sdk';
import { toServiceError } from '@tenantcast/server';
import type { Entry } from '../fanout/entry.ts';
import type { Subscriber } from '../fanout/subscriber.ts';
import type { Connection } from './connection.ts';
import type { SessionHost } from './session-host.ts';

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

  send(entry: Entry, alone?: boolean): void {
    this.#connection.sendFrame(entry.wire, alone);
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

/** The reason a plain connection is closed with when its subscription fails, by close code (docs/protocol.md). */
const FAILED_REASONS: Readonly<Partial<Record<number, string>>> = {
  [CloseCode.OffsetExpired]: 'resume offset expired: events were trimmed; reconnect without after, or with after=0',
  [CloseCode.OffsetAhead]: 'resume offset past the stream (Redis lost events); reconnect without after, or with after=0',
  [CloseCode.TryAgainLater]: 'Redis unavailable: reconnect after a backoff and resume',
  [CloseCode.GoingAway]: 'gateway shutting down: reconnect and resume',
  [CloseCode.InternalError]: 'internal error: reconnect and resume',
};

/**
 * Closes a connection whose subscription failed after the 101, with the close code the error table
 * gives its code (ERRORS in the SDK), or 1011 when it gives none; only a 1011 is logged.
 */
function closeFailed(connection: Connection, error: unknown, host: SessionHost): void {
  const serviceError = toServiceError(error);
  const code = serviceError.closeCode ?? CloseCode.InternalError;
  if (code === CloseCode.InternalError) host.onError(error);
  connection.close(code, FAILED_REASONS[code] ?? serviceError.message);
}

/** Plain mode only sends; what a client sends is read and dropped. */
function ignore(): void {}

/**
 * Serves a plain-mode connection whose upgrade was admitted (counted in): one subscription to
 * `tenant` from `start` (resume: fanout/resume.ts), counted out once, when the socket closes or the
 * subscription fails.
 */
export function openPlainSession(
  connection: Connection,
  host: SessionHost,
  tenant: string,
  start: string,
  predicate: EventPredicate | undefined,
): void {
  const subscriber = new PlainSubscriber(connection, start, predicate);
  let released = false;
  const end = () => {
    if (released) return;
    released = true;
    host.unsubscribe(tenant, subscriber);
    host.release(tenant);
  };
  connection.ws.on('close', end);
  connection.ws.on('message', ignore);
  host.subscribe(tenant, subscriber).catch((error: unknown) => {
    closeFailed(connection, error, host);
    end();
  });
}
