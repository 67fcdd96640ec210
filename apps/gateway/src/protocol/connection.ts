import type { Duplex } from 'node:stream';
import { CloseCode } from '@tenantcast/sdk';
import type { WebSocket } from 'ws';
import { textFrame } from '../frames/frames.ts';

/** How long a closing connection may take to flush its close frame before it is cut. */
const CLOSE_GRACE_MS = 5000;

/**
 * Queued bytes that are written at once rather than at the end of the turn (at most a quarter of
 * the connection's limit): frames a healthy client would have taken into the kernel's socket buffer
 * are not held back long enough to look like a backlog, and a large batch does not wait.
 */
const WRITE_AT_BYTES = 64 * 1024;

/** `WebSocket.OPEN` and `WebSocket.CLOSED`. */
const OPEN = 1;
const CLOSED = 3;

/** What a connection reads of ws's WebSocket beyond its typed API: the TCP socket (ws keeps it in `_socket`). */
interface WithSocket {
  _socket: Duplex;
}

const READY: Promise<void> = Promise.resolve();

/**
 * A client connection with a bounded send buffer: a send that would push the bytes queued for the
 * client past the limit closes the connection with 4008, so that the client resumes from its last
 * offset instead of the gateway holding an unbounded backlog.
 *
 * Writes are batched per event-loop turn: the frames sent to a connection during one turn (the
 * events of a notification, of several notifications read together, of a catch-up page) are
 * queued, in order, and leave in one socket write at the end of the turn (`setImmediate`), instead
 * of one system call per frame. A frame sent `alone` (a notification of one event: the sender has
 * nothing more) to a connection with nothing queued or written this turn leaves at once, since the
 * end of the turn would only delay it; anything more this turn is queued behind it, so a connection
 * still makes at most two writes a turn. Frames are whole WebSocket frames built once per event and shared by
 * every connection that gets them (`frames/frames.ts`); they are written to the socket as they are, so ws
 * does no per-message work. They are uncompressed text frames (RSV1 clear), valid whatever
 * extension a client negotiated (RFC 7692), and ws's own sender never holds a data frame back (the
 * gateway sends every data frame itself). What ws writes by itself (pings, pongs) goes straight to
 * the socket, between whole frames, where RFC 6455 §5.4 allows control frames. `close()` writes the
 * queue before the close frame; a connection whose ws is closing otherwise (the client closed, the
 * heartbeat cut it, shutdown) drops what it queued: the client resumes from its last offset.
 *
 * The bytes still queued count towards the limit, as the socket's buffered bytes do: the
 * slow-consumer check sees `ws.bufferedAmount` plus what waits for the end of the turn. What waits
 * is written as soon as it reaches 64 KiB (or a quarter of the limit), so that it is never what
 * passes the limit: a client is slow when the socket itself holds a backlog, as before batching.
 */
export class Connection {
  readonly ws: WebSocket;
  readonly #maxBuffered: number;
  readonly #onSlow: () => void;
  #closed = false;
  /** Frames waiting for the end of this turn, in order; undefined when the connection is not due a flush this turn (an idle one holds no array). */
  #pending: Buffer[] | undefined = undefined;
  #pendingBytes = 0;

  /** Connections with frames waiting for the end of this turn. */
  static #dirty: Connection[] = [];
  static #flushScheduled = false;

  constructor(ws: WebSocket, maxBuffered: number, onSlow: () => void) {
    this.ws = ws;
    this.#maxBuffered = maxBuffered;
    this.#onSlow = onSlow;
  }

  /** Whether nothing more is sent: closed by the gateway, or closing or closed by the client. */
  get closed(): boolean {
    return this.#closed || this.ws.readyState !== OPEN;
  }

  /** Bytes queued for the client: the socket's, ws's and those waiting for the end of the turn. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount + this.#pendingBytes;
  }

  /**
   * Queues a whole frame (see `frames/frames.ts`; it is not copied nor changed, and may be shared). Returns
   * false when the connection is closed, or was just closed as a slow consumer. `alone`: the frame is
   * all the sender has for now (a notification of one event, nothing queued in its hub); if nothing
   * was queued or written for this connection in this turn either, it is written at once.
   */
  sendFrame(frame: Buffer, alone = false): boolean {
    if (this.#closed || this.ws.readyState !== OPEN) return false;
    if (this.ws.bufferedAmount + this.#pendingBytes > this.#maxBuffered) {
      this.#onSlow();
      this.close(CloseCode.SlowConsumer, 'slow consumer: reconnect and resume from your last relayoffset');
      return false;
    }
    const pending = this.#pending;
    if (pending === undefined) {
      if (alone) {
        // Nothing else is due this turn: waiting for its end would only add latency. What follows
        // in the same turn is queued behind it (an empty queue marks the connection as written).
        (this.ws as unknown as WithSocket)._socket.write(frame);
        this.#pending = [];
        this.#markDirty();
        return true;
      }
      this.#pending = [frame];
      this.#markDirty();
    } else pending.push(frame);
    this.#pendingBytes += frame.length;
    if (this.#pendingBytes >= WRITE_AT_BYTES || this.#pendingBytes >= this.#maxBuffered >> 2) this.#write();
    return true;
  }

  #markDirty(): void {
    Connection.#dirty.push(this);
    if (!Connection.#flushScheduled) {
      Connection.#flushScheduled = true;
      setImmediate(Connection.#flushAll);
    }
  }

  /** Queues a text message; as `sendFrame`. */
  sendText(text: string): boolean {
    if (this.closed) return false;
    return this.sendFrame(textFrame(text));
  }

  /**
   * Resolves once the send buffer is at most half the limit, or the connection closed: a client
   * catching up is fed as fast as it reads, not faster, so that a large backlog is not mistaken for
   * a slow consumer.
   */
  drain(): Promise<void> {
    if (this.closed || this.bufferedAmount <= this.#maxBuffered / 2) return READY;
    return this.#drainSlowly();
  }

  async #drainSlowly(): Promise<void> {
    while (!this.closed && this.bufferedAmount > this.#maxBuffered / 2) await new Promise((r) => setTimeout(r, 5));
  }

  /** Closes with a documented code, after the frames already sent; cuts the socket if the close handshake does not finish in time. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#write();
    if (this.ws.readyState === CLOSED) return;
    // RFC 6455 §5.5: a close reason is at most 123 bytes.
    this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** Writes the frames queued so far, in one write; the connection stays due a flush at the end of the turn. */
  #write(): void {
    const pending = this.#pending;
    if (pending === undefined || pending.length === 0) return;
    // A client that is closing (or was cut) gets no more data frames: it resumes from its last offset.
    if (this.ws.readyState === OPEN) {
      (this.ws as unknown as WithSocket)._socket.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending, this.#pendingBytes));
    }
    pending.length = 0;
    this.#pendingBytes = 0;
  }

  /** End of the turn: every connection with queued frames writes them. */
  static #flushAll(this: void): void {
    Connection.#flushScheduled = false;
    const dirty = Connection.#dirty;
    Connection.#dirty = [];
    for (let i = 0; i < dirty.length; i++) {
      const connection = dirty[i]!;
      connection.#write();
      connection.#pending = undefined;
    }
  }
}
