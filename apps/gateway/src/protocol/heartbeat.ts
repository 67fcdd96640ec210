import type { WebSocket } from 'ws';

/**
 * The heartbeat (RFC 6455 §5.5.2 and §5.5.3, ping and pong): every interval each client is pinged,
 * and one that has not answered the previous ping by then is cut (`terminate`: a peer that does not
 * answer pings would not finish a close handshake either). Which clients owe a pong is the
 * heartbeat's own state, a WeakSet, not a property set on ws's sockets.
 */
export class Heartbeat {
  readonly #clients: ReadonlySet<WebSocket>;
  /** Clients pinged that have not answered with a pong since. */
  readonly #awaiting = new WeakSet<WebSocket>();
  /** One pong listener for every client (`this` is the socket): no closure per connection. */
  readonly #onPong: (this: WebSocket) => void;
  readonly #timer: NodeJS.Timeout;

  /** Starts pinging `clients` (ws's server's set) every `intervalMs`; the timer keeps no process alive. */
  constructor(clients: ReadonlySet<WebSocket>, intervalMs: number) {
    this.#clients = clients;
    const awaiting = this.#awaiting;
    this.#onPong = function (this: WebSocket) {
      awaiting.delete(this);
    };
    this.#timer = setInterval(() => this.#beat(), intervalMs);
    this.#timer.unref();
  }

  /** Listens for a new client's pongs. */
  watch(ws: WebSocket): void {
    ws.on('pong', this.#onPong);
  }

  /** Stops pinging. */
  stop(): void {
    clearInterval(this.#timer);
  }

  #beat(): void {
    for (const ws of this.#clients) {
      if (this.#awaiting.has(ws)) {
        ws.terminate();
        continue;
      }
      this.#awaiting.add(ws);
      ws.ping();
    }
  }
}
