import type { WebSocket } from 'ws';
import { CloseCode } from '../errors.ts';

/** How long a closing connection may take to flush its close frame before it is cut. */
const CLOSE_GRACE_MS = 5000;

/**
 * A client connection with a bounded send buffer: a send that would push `bufferedAmount` past
 * the limit closes the connection with 4008, so that the client resumes from its last offset
 * instead of the gateway holding an unbounded backlog.
 */
export class Connection {
  readonly ws: WebSocket;
  readonly #maxBuffered: number;
  readonly #onSlow: () => void;
  #closed = false;

  constructor(ws: WebSocket, maxBuffered: number, onSlow: () => void) {
    this.ws = ws;
    this.#maxBuffered = maxBuffered;
    this.#onSlow = onSlow;
    ws.once('close', () => {
      this.#closed = true;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a text frame; returns false when the connection is closed or was just closed as slow. */
  send(data: Buffer | string): boolean {
    if (this.#closed) return false;
    if (this.ws.bufferedAmount > this.#maxBuffered) {
      this.#onSlow();
      this.close(CloseCode.SlowConsumer, 'slow consumer: reconnect and resume from your last relayoffset');
      return false;
    }
    this.ws.send(data, { binary: false });
    return true;
  }

  /**
   * Resolves once the send buffer is at most half the limit, or the connection closed: a client
   * catching up is fed as fast as it reads, not faster, so that a large backlog is not mistaken for
   * a slow consumer.
   */
  async drain(): Promise<void> {
    while (!this.#closed && this.ws.bufferedAmount > this.#maxBuffered / 2) await new Promise((r) => setTimeout(r, 5));
  }

  /** Closes with a documented code; cuts the socket if the close handshake does not finish in time. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    // RFC 6455 §5.5: a close reason is at most 123 bytes.
    this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}
