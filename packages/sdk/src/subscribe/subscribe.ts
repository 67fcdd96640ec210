import { type BackoffOptions, backoffDelay } from '../backoff.ts';
import { CloseCode, TenantcastError } from '../errors.ts';
import type { Filter } from '../filters/filter.ts';
import { compareOffsets } from '../offsets.ts';
import type { EventOf, QlikEventMap } from '../schemas/qlik-events.ts';
import { AsyncQueue } from './async-queue.ts';

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
}

type SocketConstructor = new (url: string, protocols: string | string[], options?: { headers: Record<string, string> }) => SocketLike;

export interface SubscribeOptions<TMap extends object = QlikEventMap> {
  /** The gateway's base URL, e.g. `ws://127.0.0.1:8081` (http and https are accepted too). */
  url: string;
  /** A token with `subscribe` scope over the tenant, or a function that returns one (called per connection). */
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
  onStatus?: (status: SubscriptionStatus, detail?: { code?: number; reason?: string; delayMs?: number }) => void;
  /** Backoff between reconnects (exponential with full jitter). Default base 250 ms, max 30 s. */
  backoff?: BackoffOptions;
  /** A WebSocket implementation. Default: the global one (browsers, Node 22+), else the `ws` package. */
  WebSocket?: SocketConstructor;
}

export type SubscriptionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

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
const FATAL_CLOSE = new Set<number>([1002, 1003, 1007, 1008, CloseCode.BadMessage]);

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

/** Server error codes after which the client reconnects rather than fails (docs/protocol.md). */
const RETRIED_CODES = new Set(['TC_ERR_REDIS_UNAVAILABLE', 'TC_ERR_INTERNAL', 'TC_ERR_TOO_MANY_CONNECTIONS']);

/**
 * Subscribes to a tenant's events through the gateway (multiplexed mode, `tenantcast.v1`). It
 * reconnects by itself with exponential backoff and full jitter, resumes after the last offset it
 * saw, and drops anything at or before it: no gap, no duplicate. When the resume offset has been
 * trimmed by retention, the iteration ends with a `TenantcastError` whose code is
 * `TC_ERR_OFFSET_EXPIRED`, so that the caller can reconcile and subscribe again.
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
  #closed = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The iterator only holds events when someone iterates; a callback-only caller keeps no backlog. */
  #iterated = false;

  constructor(options: SubscribeOptions<TMap>) {
    this.#options = options;
    this.#offset = options.after;
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
    let token: string;
    let impl: { ctor: SocketConstructor; headers: boolean };
    try {
      const { token: given, WebSocket } = this.#options;
      token = typeof given === 'function' ? await given() : given;
      impl = WebSocket !== undefined ? { ctor: WebSocket, headers: false } : await defaultSocket();
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
    ws.onopen = () => ws.send(JSON.stringify(this.#subscribeMessage()));
    ws.onmessage = ({ data }) => this.#onMessage(ws, data);
    ws.onerror = () => {
      // The close event follows and decides.
    };
    ws.onclose = ({ code, reason }) => this.#onClose(ws, code, reason);
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
    else if (message.op === 'subscribed') {
      this.#attempt = 0;
      // A live-only subscription starts where the gateway says, so that a reconnect resumes there.
      this.#offset ??= message.after;
      this.#setStatus('open');
      this.#resolveReady();
    } else if (message.op === 'error') {
      const code = message.code ?? 'TC_ERR_INTERNAL';
      const text = `${code}: ${message.message ?? 'subscription refused'}`;
      if (code === 'TC_ERR_OFFSET_EXPIRED') this.#fail(new TenantcastError('TC_ERR_OFFSET_EXPIRED', text));
      else if (RETRIED_CODES.has(code)) ws.close(1000, 'retrying');
      else this.#fail(new TenantcastError('TC_ERR_SUBSCRIBE_REFUSED', text));
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
    if (code === CloseCode.OffsetExpired) {
      this.#fail(new TenantcastError('TC_ERR_OFFSET_EXPIRED', `The resume offset ${this.#offset} was trimmed by retention: ${reason}`));
    } else if (FATAL_CLOSE.has(code)) {
      this.#fail(new TenantcastError('TC_ERR_SUBSCRIBE_REFUSED', `The gateway closed the connection (${code}): ${reason}`));
    } else {
      // A refused upgrade (bad token, tenant not granted) closes before anything was subscribed;
      // browsers do not expose the status, so repeated refusals back off like any other failure.
      this.#reconnect({ code, reason });
    }
  }

  #reconnect(detail: { code?: number; reason?: string }): void {
    if (this.#closed) return;
    const delayMs = backoffDelay(this.#attempt++, { baseMs: 250, maxMs: 30_000, ...this.#options.backoff });
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

  #setStatus(next: SubscriptionStatus, detail?: { code?: number; reason?: string; delayMs?: number }): void {
    this.#status = next;
    this.#options.onStatus?.(next, detail);
  }
}
