import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TokenClaims } from '@tenantcast/sdk';
import { requireScope, requireTenant, ServiceError, type StreamReader, type TokenVerifier, toServiceError } from '@tenantcast/server';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Admission } from '../admission/admission.ts';
import { startOffset } from '../fanout/resume.ts';
import { MULTIPLEXED_SUBPROTOCOL, offeredSubprotocols, PLAIN_SUBPROTOCOL, parseUpgrade, type UpgradeTarget } from './parse-upgrade.ts';
import { refuseUpgrade } from './refuse.ts';

/** An upgrade that passed every check before the 101: what its connection is served with. */
export type Accepted =
  | {
      mode: 'plain';
      target: Extract<UpgradeTarget, { mode: 'plain' }>;
      claims: TokenClaims;
      /** Where the subscription starts (fanout/resume.ts); the upgrade was counted in by admission. */
      start: string;
    }
  | {
      mode: 'multiplexed';
      target: Extract<UpgradeTarget, { mode: 'multiplexed' }>;
      claims: TokenClaims;
      /** The browser's Origin, checked by admission on each subscribe. */
      origin: string | undefined;
    };

/** What the handshake needs from the gateway. */
export interface HandshakeOptions {
  /** Largest frame a client may send, in bytes. */
  maxPayload: number;
  /** Upgrades are refused with 503 unless the gateway is running. */
  lifecycle: { readonly running: boolean };
  tokens: Pick<TokenVerifier, 'authenticateUpgrade'>;
  admission: Pick<Admission, 'admit' | 'check' | 'release'>;
  store: StreamReader;
  /** Counts a refused upgrade. */
  onRefused(error: ServiceError): void;
  logger: Pick<Logger, 'error'>;
  /** Serves a socket once its 101 is sent. */
  accept(ws: WebSocket, accepted: Accepted): void;
}

/** Shared by every upgrade socket (`this` is the socket): no closure per connection. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/**
 * What ws refuses itself (a handshake that is not RFC 6455's: method, Upgrade, Sec-WebSocket-Key or
 * -Version), as a coded error, so that it is answered like every other refusal, in JSON, instead
 * of ws's text/html.
 */
function clientError(error: Error, request: IncomingMessage): ServiceError {
  if (request.method !== 'GET') {
    return new ServiceError('TC_ERR_METHOD_NOT_ALLOWED', `A WebSocket upgrade is a GET request, not ${request.method}.`, {
      headers: { Allow: 'GET' },
    });
  }
  return new ServiceError(
    'TC_ERR_BAD_HANDSHAKE',
    `${error.message}: send a WebSocket handshake as RFC 6455 describes (Upgrade: websocket, Sec-WebSocket-Version: 13, a Sec-WebSocket-Key of 16 bytes in base64), as WebSocket clients do.`,
    { headers: { 'Sec-WebSocket-Version': '13' } },
  );
}

/**
 * The upgrade pipeline: everything is checked before the 101 (lifecycle, path and query, token and
 * scope, tenant, admission, the resume offset), and a refused upgrade gets an HTTP status through
 * `refuseUpgrade` and never a socket. ws's server, which this owns, completes the handshakes.
 */
export class Handshake {
  readonly #options: HandshakeOptions;
  readonly #wss: WebSocketServer;
  /** The subprotocol chosen for each upgrade on its way to the 101, for ws's `handleProtocols`. */
  readonly #subprotocols = new WeakMap<IncomingMessage, string>();

  constructor(options: HandshakeOptions) {
    this.#options = options;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload,
      clientTracking: true,
      // Answer with the subprotocol chosen, as the CloudEvents WebSocket binding says; none if none was offered.
      handleProtocols: (_offered, request) => this.#subprotocols.get(request) ?? false,
    });
    this.#wss.on('wsClientError', (error: Error, socket: Duplex, request: IncomingMessage) =>
      this.#refuse(socket, clientError(error, request)),
    );
  }

  /** The open sockets, as ws's server tracks them. */
  get clients(): Set<WebSocket> {
    return this.#wss.clients;
  }

  /** The HTTP server's `upgrade` listener. */
  readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', destroyOnError);
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://gateway');
    } catch {
      this.#refuse(socket, new ServiceError('TC_ERR_BAD_REQUEST', 'The request target is not a valid URL.'));
      return;
    }
    this.#prepare(request, url).then(
      (accepted) => this.#complete(request, socket, head, accepted),
      (error: unknown) => {
        const serviceError = toServiceError(error);
        if (serviceError.status >= 500) this.#options.logger.error({ err: error }, 'upgrade failed');
        this.#refuse(socket, serviceError);
      },
    );
  };

  #refuse(socket: Duplex, error: ServiceError): void {
    this.#options.onRefused(error);
    refuseUpgrade(socket, error);
  }

  /**
   * A plain GET on a WebSocket endpoint: the checks of an upgrade there, and nothing counted in.
   * Browsers do not expose why an upgrade was refused; a client asks this way (docs/protocol.md,
   * "Refused upgrades"). Throws the refusal the upgrade would get, or resolves when it would be accepted.
   */
  async probe(request: IncomingMessage, url: URL): Promise<void> {
    // A browser's fetch cannot send Sec-WebSocket-Protocol (a forbidden header): checked as offering the endpoint's own.
    const { target } = await this.#authorize(request, url, [PLAIN_SUBPROTOCOL, MULTIPLEXED_SUBPROTOCOL]);
    if (target.mode === 'multiplexed') return;
    await this.#options.admission.check(target.tenant, request.headers.origin);
    await startOffset(this.#options.store, target.tenant, target.after);
  }

  /** Everything checked before the 101. */
  async #prepare(request: IncomingMessage, url: URL): Promise<Accepted> {
    const { admission, store } = this.#options;
    const { target, claims } = await this.#authorize(request, url, offeredSubprotocols(request));
    if (target.mode === 'multiplexed') return { mode: 'multiplexed', target, claims, origin: request.headers.origin };
    await admission.admit(target.tenant, request.headers.origin);
    try {
      return { mode: 'plain', target, claims, start: await startOffset(store, target.tenant, target.after) };
    } catch (error) {
      admission.release(target.tenant);
      throw error;
    }
  }

  /**
   * The checks that need no Redis, in the order that keeps a request without a valid token cheap:
   * running, path and query, token, scope, and the tenant of a plain subscription.
   */
  async #authorize(
    request: IncomingMessage,
    url: URL,
    offered: readonly string[],
  ): Promise<{ target: UpgradeTarget; claims: TokenClaims }> {
    const { lifecycle, tokens } = this.#options;
    if (!lifecycle.running)
      throw new ServiceError('TC_ERR_SHUTTING_DOWN', 'The gateway is shutting down; connect to another instance.', { retryAfter: 1 });
    const target = parseUpgrade(offered, url);
    const claims = await tokens.authenticateUpgrade(request.headers, url.searchParams);
    requireScope(claims, 'subscribe', 'Subscribing');
    if (target.mode === 'plain') requireTenant(claims, target.tenant);
    return { target, claims };
  }

  /** Sends the 101 (ws checks the handshake itself, and may still refuse it) and hands the socket on. */
  #complete(request: IncomingMessage, socket: Duplex, head: Buffer, accepted: Accepted): void {
    if (accepted.target.subprotocol !== undefined) this.#subprotocols.set(request, accepted.target.subprotocol);
    // A plain upgrade was counted in by admission; if the handshake never completes (the socket went
    // away, or ws refused a malformed handshake), count it out again. The listener goes once the
    // handshake is done, so that the socket does not keep the upgrade request.
    const tenant = accepted.mode === 'plain' ? accepted.target.tenant : undefined;
    const unopened = tenant === undefined ? undefined : () => this.#options.admission.release(tenant);
    if (unopened) socket.once('close', unopened);
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      if (unopened) socket.off('close', unopened);
      this.#subprotocols.delete(request);
      this.#options.accept(ws, accepted);
    });
  }
}
