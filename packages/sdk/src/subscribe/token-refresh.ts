import { CloseCode, type ErrorCode } from '../errors.ts';

/** `WebSocket.OPEN`, in browsers and in the `ws` package. */
const OPEN = 1;

/**
 * The closes of a refused refresh, and the error each ends the subscription with (docs/protocol.md,
 * "Refreshing the token"): the token function handed out a token the gateway would refuse at the
 * upgrade too, so reconnecting with it cannot help.
 */
export const REFRESH_REFUSED_CLOSE: Readonly<Partial<Record<number, ErrorCode>>> = {
  [CloseCode.TokenInvalid]: 'TC_ERR_TOKEN_INVALID',
  [CloseCode.ForbiddenScope]: 'TC_ERR_FORBIDDEN_SCOPE',
  [CloseCode.ForbiddenTenant]: 'TC_ERR_FORBIDDEN_TENANT',
  [CloseCode.SubjectChanged]: 'TC_ERR_TOKEN_SUBJECT',
};

/** The part of a socket a refresher uses. */
interface RefreshSocket {
  readonly readyState: number;
  send(data: string): void;
}

/**
 * Refreshes one connection's token in place (`tenantcast.v1`'s `refresh`), for a subscription whose
 * token is a function. It acts on the gateway's `expiring` message rather than on a clock of its
 * own: the gateway's clock is the one that closes the connection (no skew to allow for), and a
 * gateway that does not know `refresh` never sends `expiring`, so it is never sent a message it
 * would close the connection for. When no refresh happens in time (the function threw, or was slow),
 * the gateway closes with 4001 and the subscription reconnects with a fresh token, as without refresh.
 */
export class TokenRefresher {
  readonly #token: () => string | Promise<string>;
  readonly #socket: RefreshSocket;
  /** A refresh was sent and not answered yet: a second warning does not ask the function again. */
  #pending = false;

  constructor(token: () => string | Promise<string>, socket: RefreshSocket) {
    this.#token = token;
    this.#socket = socket;
  }

  /** Reads the gateway's `expiring` and `refreshed` messages. */
  onMessage(message: { op?: string }): void {
    if (message.op === 'refreshed') this.#pending = false;
    else if (message.op === 'expiring' && !this.#pending) {
      this.#pending = true;
      void this.#refresh();
    }
  }

  async #refresh(): Promise<void> {
    let token: string;
    try {
      token = await this.#token();
    } catch {
      // The connection expires with 4001, and the reconnect asks the function again; a function that
      // still throws then ends the subscription with TC_ERR_BAD_OPTIONS.
      this.#pending = false;
      return;
    }
    if (typeof token !== 'string' || token === '') {
      this.#pending = false;
      return;
    }
    if (this.#socket.readyState === OPEN) this.#socket.send(JSON.stringify({ op: 'refresh', token }));
  }
}
