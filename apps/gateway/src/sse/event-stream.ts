import type { ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode, type EventPredicate } from '@tenantcast/sdk';
import type { Entry } from '../fanout/entry.ts';
import type { Subscriber } from '../fanout/subscriber.ts';
import { EVENT_STREAM_HEARTBEAT, eventStreamError } from '../frames/event-stream.ts';

/** How long an ended stream may take to flush its last bytes before its socket is cut. */
const END_GRACE_MS = 5000;

/** Queued bytes written at once rather than at the end of the turn, as the WebSocket path does (protocol/connection.ts). */
const WRITE_AT_BYTES = 64 * 1024;

const READY: Promise<void> = Promise.resolve();

/**
 * The error code a close code of docs/protocol.md stands for (the first the shared table gives it):
 * the hub ends its subscribers with close codes (fanout/tenant-hub.ts), and an SSE stream says the
 * same as an `event: error` with that code.
 */
const CODE_OF_CLOSE: ReadonlyMap<number, ErrorCode> = (() => {
  const map = new Map<number, ErrorCode>();
  for (const [code, spec] of Object.entries(ERRORS) as [ErrorCode, { close?: number }][]) {
    if (spec.close !== undefined && !map.has(spec.close)) map.set(spec.close, code);
  }
  return map;
})();

/**
 * One Server-Sent Events stream, subscribed to one tenant: what the hub hands it is written as the
 * entry's prebuilt message (`Entry.eventStream`), batched per event-loop turn into one write, as the
 * WebSocket path's connections do. Its buffer is bounded like theirs: a send that finds more than
 * `maxBuffered` bytes queued (the response's and the socket's) ends the stream with
 * TC_ERR_SLOW_CONSUMER, so that the client resumes from its last offset instead of the gateway
 * holding an unbounded backlog. A stream that must end says why first, in an `event: error`.
 */
export class EventStream implements Subscriber {
  last: string;
  readonly tenant: string;
  readonly #response: ServerResponse;
  readonly #predicate: EventPredicate | undefined;
  readonly #maxBuffered: number;
  readonly #onSlow: () => void;
  #ended = false;
  /** Messages waiting for the end of this turn; undefined when the stream is not due a flush this turn. */
  #pending: Buffer[] | undefined = undefined;
  #pendingBytes = 0;

  /** Streams with messages waiting for the end of this turn. */
  static #dirty: EventStream[] = [];
  static #flushScheduled = false;

  constructor(
    response: ServerResponse,
    tenant: string,
    start: string,
    predicate: EventPredicate | undefined,
    maxBuffered: number,
    onSlow: () => void,
  ) {
    this.#response = response;
    this.tenant = tenant;
    this.last = start;
    this.#predicate = predicate;
    this.#maxBuffered = maxBuffered;
    this.#onSlow = onSlow;
  }

  matches(entry: Entry): boolean {
    return this.#predicate === undefined || this.#predicate(entry.event);
  }

  send(entry: Entry): void {
    this.#queue(entry.eventStream);
  }

  /** Whether nothing more is sent: ended by the gateway, or the client went away. */
  get closed(): boolean {
    return this.#ended || this.#response.destroyed;
  }

  /** Bytes queued for the client: the response's, the socket's, and those waiting for the end of the turn. */
  get bufferedAmount(): number {
    return this.#response.writableLength + this.#pendingBytes;
  }

  /** Resolves once the buffer is at most half the limit, or the stream ended: catch-up is fed as fast as the client reads. */
  drain(): Promise<void> {
    if (this.closed || this.bufferedAmount <= this.#maxBuffered / 2) return READY;
    return this.#drainSlowly();
  }

  async #drainSlowly(): Promise<void> {
    while (!this.closed && this.bufferedAmount > this.#maxBuffered / 2) await new Promise((r) => setTimeout(r, 5));
  }

  /** Writes a heartbeat comment; one shared buffer for every stream. */
  heartbeat(): void {
    this.#queue(EVENT_STREAM_HEARTBEAT);
  }

  /** The hub's way to end a subscriber (a close code of docs/protocol.md): an `event: error` with the code it stands for. */
  close(code: number, reason: string): void {
    this.end(CODE_OF_CLOSE.get(code) ?? 'TC_ERR_INTERNAL', reason);
  }

  /** Ends the stream after what was queued, with `event: error` carrying `code` and `message` (the table's by default). */
  end(code: ErrorCode, message: string = ERRORS[code].message): void {
    if (this.#ended) return;
    this.#ended = true;
    const response = this.#response;
    if (response.destroyed) return;
    this.#write();
    response.end(eventStreamError(code, message));
    // A client that does not read would hold the socket: it is cut unless the end is flushed in time.
    const cut = setTimeout(() => response.destroy(), END_GRACE_MS);
    cut.unref();
    response.once('finish', () => clearTimeout(cut));
  }

  #queue(message: Buffer): void {
    if (this.closed) return;
    if (this.bufferedAmount > this.#maxBuffered) {
      this.#onSlow();
      this.end('TC_ERR_SLOW_CONSUMER');
      return;
    }
    const pending = this.#pending;
    if (pending === undefined) {
      this.#pending = [message];
      EventStream.#dirty.push(this);
      if (!EventStream.#flushScheduled) {
        EventStream.#flushScheduled = true;
        setImmediate(EventStream.#flushAll);
      }
    } else pending.push(message);
    this.#pendingBytes += message.length;
    if (this.#pendingBytes >= WRITE_AT_BYTES || this.#pendingBytes >= this.#maxBuffered >> 2) this.#write();
  }

  /** Writes the messages queued so far as one chunk. */
  #write(): void {
    const pending = this.#pending;
    if (pending === undefined || pending.length === 0) return;
    if (!this.#response.destroyed) {
      this.#response.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending, this.#pendingBytes));
    }
    pending.length = 0;
    this.#pendingBytes = 0;
  }

  /** End of the turn: every stream with queued messages writes them. */
  static #flushAll(this: void): void {
    EventStream.#flushScheduled = false;
    const dirty = EventStream.#dirty;
    EventStream.#dirty = [];
    for (let i = 0; i < dirty.length; i++) {
      const stream = dirty[i]!;
      stream.#write();
      stream.#pending = undefined;
    }
  }
}
