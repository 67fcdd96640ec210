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
  let offset = options.after;
  let status: SubscriptionStatus = 'connecting';
  let socket: SocketLike | undefined;
  let closed = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resolveReady!: () => void;
  let rejectReady!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {});
  const queue = new AsyncQueue<ReceivedEvent<TMap>>(() => close());
  let iterated = false;

  const endpoint = new URL('v1/connect', options.url.endsWith('/') ? options.url : `${options.url}/`);
  endpoint.protocol = endpoint.protocol.replace(/^http/, 'ws');

  function setStatus(next: SubscriptionStatus, detail?: { code?: number; reason?: string; delayMs?: number }): void {
    status = next;
    options.onStatus?.(next, detail);
  }

  function fail(error: TenantcastError): void {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    setStatus('closed');
    rejectReady(error);
    queue.fail(error);
    socket?.close(1000, 'subscription failed');
  }

  function close(): void {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    setStatus('closed');
    rejectReady(new TenantcastError('TC_ERR_BAD_OPTIONS', 'The subscription was closed before it was ready.'));
    queue.end();
    socket?.close(1000, 'client closed');
  }

  function reconnect(detail: { code?: number; reason?: string }): void {
    if (closed) return;
    const delayMs = backoffDelay(attempt++, { baseMs: 250, maxMs: 30_000, ...options.backoff });
    setStatus('reconnecting', { ...detail, delayMs });
    timer = setTimeout(() => void connect(), delayMs);
  }

  async function connect(): Promise<void> {
    if (closed) return;
    let token: string;
    let impl: { ctor: SocketConstructor; headers: boolean };
    try {
      token = typeof options.token === 'function' ? await options.token() : options.token;
      impl = options.WebSocket !== undefined ? { ctor: options.WebSocket, headers: false } : await defaultSocket();
    } catch (cause) {
      return fail(
        new TenantcastError('TC_ERR_BAD_OPTIONS', `subscribe: could not get a token or a WebSocket: ${(cause as Error)?.message}`, {
          cause,
        }),
      );
    }
    if (closed) return;
    const target = new URL(endpoint);
    // Browsers cannot set headers on a WebSocket; the gateway takes the token from the query too.
    if (!impl.headers) target.searchParams.set('token', token);
    const ws = impl.headers
      ? new impl.ctor(target.href, 'tenantcast.v1', { headers: { authorization: `Bearer ${token}` } })
      : new impl.ctor(target.href, 'tenantcast.v1');
    socket = ws;
    let subscribed = false;

    ws.onopen = () => {
      const message: Record<string, unknown> = { op: 'subscribe', id: 's', tenantid: options.tenantid };
      if (options.filters !== undefined) message.filters = options.filters;
      if (offset !== undefined) message.after = offset;
      ws.send(JSON.stringify(message));
    };
    ws.onmessage = ({ data }) => {
      let message: { op?: string; id?: string; event?: ReceivedEvent<TMap>; after?: string; code?: string; message?: string };
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      if (message.op === 'event' && message.event !== undefined) {
        const event = message.event;
        // Resuming may replay the edge of what was seen; the offset decides.
        if (offset !== undefined && compareOffsets(event.relayoffset, offset) <= 0) return;
        offset = event.relayoffset;
        // The iterator only holds events when someone iterates; a callback-only caller keeps no backlog.
        if (iterated) queue.push(event);
        if (options.onEvent !== undefined) {
          try {
            options.onEvent(event);
          } catch (error) {
            // A throwing callback must not stop delivery (nor crash the process from inside the socket).
            if (options.onError !== undefined) options.onError(error, event);
            else queueMicrotask(() => console.error('tenantcast subscribe: onEvent threw', error));
          }
        }
      } else if (message.op === 'subscribed') {
        subscribed = true;
        attempt = 0;
        // A live-only subscription starts where the gateway says, so that a reconnect resumes there.
        offset ??= message.after;
        setStatus('open');
        resolveReady();
      } else if (message.op === 'error') {
        const code = message.code ?? 'TC_ERR_INTERNAL';
        const text = `${code}: ${message.message ?? 'subscription refused'}`;
        if (code === 'TC_ERR_OFFSET_EXPIRED') fail(new TenantcastError('TC_ERR_OFFSET_EXPIRED', text));
        else if (code === 'TC_ERR_REDIS_UNAVAILABLE' || code === 'TC_ERR_INTERNAL' || code === 'TC_ERR_TOO_MANY_CONNECTIONS')
          ws.close(1000, 'retrying');
        else fail(new TenantcastError('TC_ERR_SUBSCRIBE_REFUSED', text));
      }
    };
    ws.onerror = () => {
      // The close event follows and decides.
    };
    ws.onclose = ({ code, reason }) => {
      if (closed || socket !== ws) return;
      if (code === CloseCode.OffsetExpired) {
        return fail(new TenantcastError('TC_ERR_OFFSET_EXPIRED', `The resume offset ${offset} was trimmed by retention: ${reason}`));
      }
      if (FATAL_CLOSE.has(code))
        return fail(new TenantcastError('TC_ERR_SUBSCRIBE_REFUSED', `The gateway closed the connection (${code}): ${reason}`));
      // A refused upgrade (bad token, tenant not granted) closes before anything was subscribed;
      // browsers do not expose the status, so repeated refusals back off like any other failure.
      void subscribed;
      reconnect({ code, reason });
    };
  }

  void connect();
  return {
    get offset() {
      return offset;
    },
    get status() {
      return status;
    },
    ready,
    close,
    [Symbol.asyncIterator]: () => {
      iterated = true;
      return queue;
    },
  };
}
