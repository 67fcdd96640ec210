import { CloseCode, type TokenClaims } from '@tenantcast/sdk';
import type { TokenVerifier } from '@tenantcast/server';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Accepted } from '../upgrade/handshake.ts';
import { Connection } from './connection.ts';
import type { Heartbeat } from './heartbeat.ts';
import { MultiplexedSession } from './multiplexed-session.ts';
import { openPlainSession } from './plain-session.ts';
import type { SessionHost } from './session-host.ts';
import { onTokenExpiry } from './token-expiry.ts';

/** What sessions need from the gateway. */
export interface SessionsOptions {
  host: SessionHost;
  heartbeat: Pick<Heartbeat, 'watch'>;
  /** Bytes queued for one connection before it is closed as a slow consumer (4008). */
  maxBufferedBytes: number;
  /** Subscriptions one multiplexed connection may hold. */
  maxSubscriptionsPerConnection: number;
  /** The one verifier, for the tokens a multiplexed connection refreshes with. */
  tokens: Pick<TokenVerifier, 'verify'>;
  /** How long before its token expires a multiplexed connection is told (`expiring`). */
  tokenExpiryWarningSeconds: number;
  /** Counts a connection closed as a slow consumer. */
  onSlow(): void;
  /** Counts a connection served (its upgrade accepted). */
  onOpen(): void;
  /** Counts a refresh of a multiplexed connection's token: `refreshed`, or the refusal's error code. */
  onRefresh(outcome: string): void;
  logger: Pick<Logger, 'debug'>;
}

/** Closes a plain connection when its token expires (4001), however far ahead its `exp` is; a multiplexed session watches its own token. */
function closeOnExpiry(connection: Connection, claims: TokenClaims): void {
  if (claims.exp === undefined) return;
  const expiry = onTokenExpiry(claims.exp, () => connection.close(CloseCode.TokenExpired, 'token expired: reconnect with a fresh token'));
  connection.ws.once('close', () => expiry.cancel());
}

/**
 * What happens after the 101: a socket becomes a connection with a bounded send buffer, watched by
 * the heartbeat and closed when its token expires (a multiplexed one may refresh it first), and is
 * served in the mode its upgrade asked for (plain-session.ts, multiplexed-session.ts).
 */
export class Sessions {
  readonly #options: SessionsOptions;
  /** Shared by every connection: no closure per connection. */
  readonly #onClientError: (error: Error) => void;

  constructor(options: SessionsOptions) {
    this.#options = options;
    this.#onClientError = (error) => options.logger.debug({ err: error }, 'client socket error');
  }

  /** Serves a socket whose upgrade was accepted. */
  open(ws: WebSocket, accepted: Accepted): void {
    const { host, heartbeat, maxBufferedBytes, maxSubscriptionsPerConnection, tokens, tokenExpiryWarningSeconds, onSlow, onRefresh } =
      this.#options;
    this.#options.onOpen();
    const connection = new Connection(ws, maxBufferedBytes, onSlow);
    heartbeat.watch(ws);
    ws.on('error', this.#onClientError);
    if (accepted.mode === 'plain') {
      closeOnExpiry(connection, accepted.claims);
      openPlainSession(connection, host, accepted.target.tenant, accepted.start, accepted.target.predicate);
      return;
    }
    const session = new MultiplexedSession(connection, accepted.claims, accepted.origin, host, {
      maxSubscriptions: maxSubscriptionsPerConnection,
      tokens,
      warningSeconds: tokenExpiryWarningSeconds,
      onRefresh,
    });
    ws.on('message', (data, isBinary) => session.onMessage(data as Buffer, isBinary));
    ws.on('close', () => session.closeAll());
  }
}
