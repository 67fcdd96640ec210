import { type BackoffOptions, backoffDelay, RETRYABLE_STATUS } from '../backoff.ts';
import { CloseCode, type ErrorCode, isErrorCode, TenantcastError } from '../errors.ts';
import type { Filter } from '../filters/filter.ts';
import { compareOffsets } from '../offsets.ts';
import type { EventOf, QlikEventMap } from '../schemas/qlik-events.ts';
import { AsyncQueue } from './async-queue.ts';
import { askWhyRefused, type Refusal, readRefusal, type UpgradeResponse } from './refusals.ts';
import { SSE_TRANSPORT } from './sse-transport.ts';
import { REFRESH_REFUSED_CLOSE, TokenRefresher } from './token-refresh.ts';

/** An event as the gateway delivers it: a CloudEvent with its stream offset in `relayoffset`. */
export type ReceivedEvent<TMap extends object = QlikEventMap> = EventOf<TMap> & { relayoffset: string };

/** The part of the WebSocket API the client uses: the browser's, or the `ws` package's. */
interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  /** The `ws` package's events, which hand over a refused upgrade's answer; browsers have none. */
  on?(event: 'unexpected-response', listener: (request: unknown, response: UpgradeResponse) => void): unknown;
}

type SocketConstructor = new (url: string, protocols: string | string[], options?: { headers: Record<string, string> }) => SocketLike;

export interface SubscribeOptions<TMap extends object = QlikEventMap> {
  /** The gateway's base URL, e.g. `ws://127.0.0.1:8081` (http and https are accepted too). */
  url: string;
  /**
   * A token with `subscribe` scope over the tenant, or a function that returns one: called for each
   * connection, and again shortly before the token expires (when the gateway says `expiring`), to
   * refresh it on the open connection without reconnecting. A string token is used until it expires.
   */
  token: string | (() => string | Promise<string>);
  tenantid: string;
  /** CloudEvents Subscriptions API filters, all of which must hold. */
  filters?: Filter[];
  /** Resume after this offset; `'0'` for every retained event. Default: live events only, from now. */
  after?: string;
  /** Called with each event: the callback form. The async iterator works either way. */
  onEvent?: (event: ReceivedEvent<TMap>) => void;
  /** Called when `onEvent` throws; delivery goes on. Default: the error is logged to the console. */
  onError?: (error: unknown, event: ReceivedEvent<TMap>) => void;
  /** Called when the connection state changes, e.g. to show "reconnecting". */
  onStatus?: (status: SubscriptionStatus, detail?: StatusDetail) => void;
  /** Backoff between reconnects (exponential with full jitter). Default base 250 ms, max 30 s. */
  backoff?: BackoffOptions;
  /** A WebSocket implementation. Default: the global one (browsers, Node 22+), else the `ws` package. */
  WebSocket?: SocketConstructor;
  /**
   * `websocket` (default); `sse`: Server-Sent Events over `fetch`, for networks that block WebSocket
   * upgrades; `auto`: WebSocket, switching to SSE for good when a WebSocket cannot connect before
   * one ever has (a proxy's refusal, not the gateway's own, or no answer). The same events, resume
   * and errors either way (docs/protocol.md).
   */
  transport?: 'websocket' | 'sse' | 'auto';
}

export type SubscriptionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Why the status changed: the close code and reason, a refused upgrade's HTTP status, the delay before the next attempt. */
export interface StatusDetail {
  /** The WebSocket close code; 1006 when the connection failed or was refused before it opened. */
  code?: number;
  reason?: string;
  /** The HTTP status of a refused upgrade that is retried (429, 503, …). */
  httpStatus?: number;
  delayMs?: number;
}

/** A live subscription: an async iterator of events that reconnects and resumes by itself. */
export interface Subscription<TMap extends object = QlikEventMap> extends AsyncIterable<ReceivedEvent<TMap>> {
  /** The offset of the last event received; reconnects resume after it. */
  readonly offset: string | undefined;
  readonly status: SubscriptionStatus;
  /** Resolves once the first connection is subscribed; rejects if it fails for good. */
  readonly ready: Promise<void>;
  /** Ends the subscription and the iteration. */
  close(): void;
}

/** Close codes after which reconnecting cannot help (docs/protocol.md). */
const FATAL_CLOSE = new Set<number>([1002, 1003, 1007, 1008, CloseCode.MessageTooBig, CloseCode.BadMessage]);

/** Close codes that end the subscription with an error code of their own: the resume offset cannot be served (docs/protocol.md). */
const ENDING_CLOSE: Readonly<Partial<Record<number, ErrorCode>>> = {
  [CloseCode.OffsetExpired]: 'TC_ERR_OFFSET_EXPIRED',
  [CloseCode.OffsetAhead]: 'TC_ERR_OFFSET_AHEAD',
  ...REFRESH_REFUSED_CLOSE,
};

/** The longest wait a Retry-After may impose between two attempts. */
const MAX_RETRY_AFTER_MS = 60_000;
async function defaultSocket(): Promise<{ ctor: SocketConstructor; headers: boolean }> {
  const global = (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (global !== undefined) return { ctor: global, headers: false };
  const ws = await import('ws');
  return { ctor: (ws.WebSocket ?? ws.default) as unknown as SocketConstructor, headers: true };
}

/** A message of the gateway's `tenantcast.v1` protocol, as far as the client reads it. */
interface ServerMessage<TMap extends object> {
  op?: string;
  id?: string;
  event?: ReceivedEvent<TMap>;
  after?: string;
  code?: string;
  message?: string;
}

/** Server error codes after which the client reconnects rather than fails; any other ends the subscription with it (docs/protocol.md). */
const RETRIED_CODES = new Set(['TC_ERR_REDIS_UNAVAILABLE', 'TC_ERR_INTERNAL', 'TC_ERR_TOO_MANY_CONNECTIONS']);

/**
 * Subscribes to a tenant's events through the gateway (multiplexed mode, `tenantcast.v1`; or
 * Server-Sent Events, `transport: 'sse' | 'auto'`). It
 * reconnects by itself with exponential backoff and full jitter, resumes after the last offset it
 * saw, and drops anything at or before it: no gap, no duplicate. It retries only what may pass:
 * network errors, 429 and 5xx (after their Retry-After), and the gateway's going-away closes. A
 * refusal that needs a change from the caller (a token that does not verify, a tenant it does not
 * grant, a bad offset) ends the iteration at once, and rejects `ready`, with a `TenantcastError`
 * carrying the gateway's own code and message. When the resume offset cannot be served (trimmed by
 * retention: `TC_ERR_OFFSET_EXPIRED`; ahead of the stream, Redis having lost events:
 * `TC_ERR_OFFSET_AHEAD`), the iteration ends with that code, so that the caller can reconcile and
 * subscribe again with `after: '0'` or without `after`. With a token function, the token is
 * refreshed on the open connection before it expires (token-refresh.ts), with no reconnect.
 * @example
 * const subscription = subscribe({ url: 'ws://127.0.0.1:8081', token, tenantid: 'acme' });
 * for await (const event of subscription) {
 *   if (event.type === 'com.qlik.web-integration.created') console.log(event.data.validOrigins);
 * }
 */
export function subscribe<TMap extends object = QlikEventMap>(options: SubscribeOptions<TMap>): Subscription<TMap> {
  const client = new SubscriptionClient(options);
  void client.connect();
  return {
    get offset() {
      return client.offset;
    },
    get status() {
      return client.status;
    },
    ready: client.ready,
    close: () => client.close(),
    [Symbol.asyncIterator]: () => client.iterate(),
  };
}

/** The state of one subscription across its connections; `subscribe` hands out a narrow view of it. */
class SubscriptionClient<TMap extends object> {
  readonly #options: SubscribeOptions<TMap>;
  readonly #endpoint: URL;
  readonly #queue: AsyncQueue<ReceivedEvent<TMap>>;
  readonly ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: unknown) => void;
  #offset: string | undefined;
  #status: SubscriptionStatus = 'connecting';
  #socket: SocketLike | undefined;
  /** Refreshes the open connection's token, when the token is a function. */
  #refresher: TokenRefresher | undefined;
  #closed = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The iterator only holds events when someone iterates; a callback-only caller keeps no backlog. */
  #iterated = false;
  /** Connections go over Server-Sent Events (`transport: 'sse'`, or `auto` after a WebSocket could not connect). */
  #sse: boolean;
  /** A WebSocket of this subscription was subscribed once: `auto` keeps to WebSockets then. */
  #webSocketWorked = false;

  constructor(options: SubscribeOptions<TMap>) {
    this.#options = options;
    this.#offset = options.after;
    this.#sse = options.transport === 'sse';
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.#queue = new AsyncQueue<ReceivedEvent<TMap>>(() => this.close());
    this.#endpoint = new URL('v1/connect', options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.#endpoint.protocol = this.#endpoint.protocol.replace(/^http/, 'ws');
  }

  get offset(): string | undefined {
    return this.#offset;
  }

  get status(): SubscriptionStatus {
    return this.#status;
  }

  iterate(): AsyncQueue<ReceivedEvent<TMap>> {
    this.#iterated = true;
    return this.#queue;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#setStatus('closed');
    this.#rejectReady(new TenantcastError('TC_ERR_BAD_OPTIONS', 'The subscription was closed before it was ready.'));
    this.#queue.end();
    this.#socket?.close(1000, 'client closed');
  }

  async connect(): Promise<void> {
    if (this.#closed) return;
    const { token: given, WebSocket } = this.#options;
    let token: string;
    let impl: { ctor: SocketConstructor; headers: boolean };
    try {
      token = typeof given === 'function' ? await given() : given;
      impl = this.#sse ? SSE_TRANSPORT : WebSocket !== undefined ? { ctor: WebSocket, headers: false } : await defaultSocket();
    } catch (cause) {
      const message = `subscribe: could not get a token or a WebSocket: ${(cause as Error)?.message}`;
      return this.#fail(new TenantcastError('TC_ERR_BAD_OPTIONS', message, { cause }));
    }
    if (this.#closed) return;
    const target = new URL(this.#endpoint);
    // Browsers cannot set headers on a WebSocket; the gateway takes the token from the query too.
    if (!impl.headers) target.searchParams.set('token', token);
    const ws = impl.headers
      ? new impl.ctor(target.href, 'tenantcast.v1', { headers: { authorization: `Bearer ${token}` } })
      : new impl.ctor(target.href, 'tenantcast.v1');
    this.#socket = ws;
    this.#refresher = typeof given === 'function' ? new TokenRefresher(given, ws) : undefined;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify(this.#subscribeMessage()));
    };
    ws.onmessage = ({ data }) => this.#onMessage(ws, data);
    ws.onerror = () => {
      // The close event follows and decides.
    };
    // `ws` hands over a refused upgrade's answer, and then a close before an open is a network
    // error; a browser shows a refusal as that same close, so the client asks the gateway why.
    const answered = typeof ws.on === 'function';
    let refused = false;
    ws.on?.('unexpected-response', (_request, response) => {
      refused = true;
      void readRefusal(response).then((refusal) => this.#onRefused(ws, refusal));
    });
    ws.onclose = ({ code, reason }) => {
      if (refused) return;
      if (!opened && answered && this.#fallBack(ws, undefined)) return;
      if (opened || answered) this.#onClose(ws, code, reason);
      else void askWhyRefused(target.href).then((refusal) => this.#onRefused(ws, refusal));
    };
  }

  #subscribeMessage(): Record<string, unknown> {
    const message: Record<string, unknown> = { op: 'subscribe', id: 's', tenantid: this.#options.tenantid };
    if (this.#options.filters !== undefined) message.filters = this.#options.filters;
    if (this.#offset !== undefined) message.after = this.#offset;
    return message;
  }

  #onMessage(ws: SocketLike, data: unknown): void {
    let message: ServerMessage<TMap>;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (message.op === 'event' && message.event !== undefined) this.#onEvent(message.event);
    else if (message.op === 'expiring' || message.op === 'refreshed') {
      if (ws === this.#socket) this.#refresher?.onMessage(message);
    } else if (message.op === 'subscribed') {
      this.#attempt = 0;
      this.#webSocketWorked ||= !this.#sse;
      // A live-only subscription starts where the gateway says, so that a reconnect resumes there.
      this.#offset ??= message.after;
      this.#setStatus('open');
      this.#resolveReady();
    } else if (message.op === 'error') {
      const code = message.code ?? 'TC_ERR_INTERNAL';
      if (RETRIED_CODES.has(code)) ws.close(1000, 'retrying');
      else if (isErrorCode(code)) this.#fail(new TenantcastError(code, message.message));
      // A code of a newer gateway: refused all the same, and named.
      else this.#fail(new TenantcastError('TC_ERR_SUBSCRIBE_REFUSED', `${code}: ${message.message ?? 'subscription refused'}`));
    }
  }

  #onEvent(event: ReceivedEvent<TMap>): void {
    // Resuming may replay the edge of what was seen; the offset decides.
    if (this.#offset !== undefined && compareOffsets(event.relayoffset, this.#offset) <= 0) return;
    this.#offset = event.relayoffset;
    if (this.#iterated) this.#queue.push(event);
    const { onEvent, onError } = this.#options;
    if (onEvent === undefined) return;
    try {
      onEvent(event);
    } catch (error) {
      // A throwing callback must not stop delivery (nor crash the process from inside the socket).
      if (onError !== undefined) onError(error, event);
      else queueMicrotask(() => console.error('tenantcast subscribe: onEvent threw', error));
    }
  }

  #onClose(ws: SocketLike, code: number, reason: string): void {
    if (this.#closed || this.#socket !== ws) return;
    const ending = ENDING_CLOSE[code];
    if (ending !== undefined) {
      // A refused refresh (4002-4005) or an offset the stream cannot serve (4010, 4011).
      this.#fail(new TenantcastError(ending, `The gateway ended the subscription at offset ${this.#offset} (${code}): ${reason}`));
    } else if (FATAL_CLOSE.has(code)) {
      this.#fail(new TenantcastError('TC_ERR_SUBSCRIBE_REFUSED', `The gateway closed the connection (${code}): ${reason}`));
    } else {
      // Going away (1001), Redis unavailable (1013), internal error (1011), slow consumer (4008),
      // token expired (4001: the next attempt asks a token function for a fresh one), a network error (1006).
      this.#reconnect({ code, reason });
    }
  }

  /**
   * An upgrade refused before it opened, as `refusal` says (undefined: the gateway could not be
   * reached). What a later attempt may pass is retried: no answer, 426 (the gateway would take the
   * upgrade now), 429 and 5xx, after their Retry-After. Anything else needs a change from the caller
   * and ends the subscription with the gateway's code and message.
   */
  #onRefused(ws: SocketLike, refusal: Refusal | undefined): void {
    if (this.#closed || this.#socket !== ws) return;
    if (this.#fallBack(ws, refusal)) return;
    this.#socket = undefined;
    // `ws` keeps a refused socket until it is closed; a browser's is closed already.
    ws.close();
    if (refusal === undefined || refusal.status === 426 || RETRYABLE_STATUS.has(refusal.status)) {
      this.#reconnect({ code: 1006, httpStatus: refusal?.status, reason: refusal?.message }, refusal?.retryAfterMs);
      return;
    }
    const { status, code, message } = refusal;
    if (isErrorCode(code)) this.#fail(new TenantcastError(code, message, { status }));
    else {
      const text = `The gateway refused the connection with ${status}${code === undefined ? '' : ` ${code}`}: ${message ?? 'no reason given'}`;
      this.#fail(new TenantcastError('TC_ERR_SUBSCRIBE_REFUSED', text, { status }));
    }
  }

  /**
   * `transport: 'auto'`: a WebSocket that failed before it opened, without a refusal of the
   * gateway's own (a proxy's answer, a 426 from a gateway that would take the upgrade, no answer),
   * when no WebSocket of this subscription ever worked, switches the subscription to SSE at once.
   */
  #fallBack(ws: SocketLike, refusal: Refusal | undefined): boolean {
    if (this.#options.transport !== 'auto' || this.#sse || this.#webSocketWorked || this.#closed || this.#socket !== ws) return false;
    if (refusal !== undefined && refusal.status !== 426 && isErrorCode(refusal.code)) return false;
    this.#sse = true;
    this.#socket = undefined;
    ws.close();
    this.#setStatus('reconnecting', {
      code: 1006,
      httpStatus: refusal?.status,
      reason: 'no WebSocket: switching to Server-Sent Events',
      delayMs: 0,
    });
    void this.connect();
    return true;
  }

  /** Connects again after a backoff, or after `retryAfterMs` (a refusal's Retry-After) plus that backoff, so that clients spread out. */
  #reconnect(detail: StatusDetail, retryAfterMs?: number): void {
    if (this.#closed) return;
    const backoff = backoffDelay(this.#attempt++, { baseMs: 250, maxMs: 30_000, ...this.#options.backoff });
    const delayMs = Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS) + backoff;
    this.#setStatus('reconnecting', { ...detail, delayMs });
    this.#timer = setTimeout(() => void this.connect(), delayMs);
  }

  #fail(error: TenantcastError): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#setStatus('closed');
    this.#rejectReady(error);
    this.#queue.fail(error);
    this.#socket?.close(1000, 'subscription failed');
  }

  #setStatus(next: SubscriptionStatus, detail?: StatusDetail): void {
    this.#status = next;
    this.#options.onStatus?.(next, detail);
  }
}
