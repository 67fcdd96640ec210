import { ERRORS, isErrorCode } from '../errors.ts';
import { EventStreamParser } from './event-stream-parser.ts';
import type { UpgradeResponse } from './refusals.ts';

/** The socket events `subscribe` listens to, as the WebSocket API hands them over. */
type Listener<T> = ((event: T) => void) | null;

/** A refused stream's answer, as `ws` hands over a refused upgrade's (refusals.ts reads both alike). */
function answerOf(response: Response, body: string): UpgradeResponse {
  return {
    statusCode: response.status,
    headers: { 'retry-after': response.headers.get('retry-after') ?? undefined },
    setEncoding: () => undefined,
    on(event: string, listener: (chunk?: string) => void) {
      if (event === 'data') queueMicrotask(() => listener(body));
      else if (event === 'end') queueMicrotask(() => listener());
      return this;
    },
  } as UpgradeResponse;
}

/**
 * How long a stream may stay silent before the client gives it up and reconnects: three times the
 * gateway's heartbeat (GATEWAY_SSE_HEARTBEAT_MS, 15 s by default). A proxy may cut a stream without
 * closing it; without this, the client would wait for ever.
 */
export const SSE_IDLE_TIMEOUT_MS = 45_000;

/**
 * The gateway's Server-Sent Events endpoint behind the WebSocket API that `subscribe` drives
 * (docs/protocol.md, "Server-Sent Events"), so that the client's reconnects, resume and refusals
 * are the same whatever the transport. It speaks just enough of `tenantcast.v1`: it opens at once;
 * the client's `subscribe` message starts `GET /v1/tenants/{t}/events` (filters and `after` in the
 * query) over `fetch`, whose body is read as it streams (browsers, Node 20+: no dependency); the
 * stream's first `id:` is the `subscribed` reply, each event an `event` message, and an
 * `event: error` a close with the close code the error table gives its code (4001 token expired,
 * 4008 slow consumer, 4010, 4011, 1013, 1001…). A refusal before the stream is handed over as `ws`
 * hands over a refused upgrade's answer. The token goes in `Authorization` (browsers included: the
 * gateway answers their CORS preflight), or in the query when the URL has it there.
 */
export class SseSocket {
  readyState = 0;
  onopen: Listener<unknown> = null;
  onmessage: Listener<{ data: unknown }> = null;
  onclose: Listener<{ code: number; reason: string }> = null;
  onerror: Listener<unknown> = null;
  readonly #base: URL;
  readonly #headers: Record<string, string>;
  readonly #abort = new AbortController();
  #started = false;
  #refused: ((request: unknown, response: UpgradeResponse) => void) | undefined;
  readonly #idleTimeoutMs: number;
  /** When the stream last carried anything; one timer checks it (a timer per chunk would cost per event). */
  #lastData = 0;
  #idle: ReturnType<typeof setInterval> | undefined;

  /**
   * Takes what a WebSocket constructor takes: the `/v1/connect` URL (with `token` in its query, or
   * not) and options with headers; `idleTimeoutMs` (SSE_IDLE_TIMEOUT_MS) is for tests.
   */
  constructor(
    url: string,
    _protocols?: string | string[],
    options?: { headers: Record<string, string> },
    idleTimeoutMs = SSE_IDLE_TIMEOUT_MS,
  ) {
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#base = new URL(url);
    this.#base.protocol = this.#base.protocol === 'wss:' ? 'https:' : this.#base.protocol === 'ws:' ? 'http:' : this.#base.protocol;
    this.#headers = { accept: 'text/event-stream', ...options?.headers };
    setTimeout(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }

  /** `ws`'s event for a refused upgrade's answer: here, a stream refused with an HTTP status. */
  on(event: 'unexpected-response', listener: (request: unknown, response: UpgradeResponse) => void): this {
    if (event === 'unexpected-response') this.#refused = listener;
    return this;
  }

  /** Reads the client's `subscribe` message and starts the stream; other messages have no SSE equivalent. */
  send(data: string): void {
    if (this.#started || this.readyState !== 1) return;
    const message = JSON.parse(data) as { op?: string; id?: string; tenantid?: string; filters?: unknown; after?: string };
    if (message.op !== 'subscribe' || message.tenantid === undefined) return;
    this.#started = true;
    const target = new URL(`./tenants/${encodeURIComponent(message.tenantid)}/events`, this.#base);
    const token = this.#base.searchParams.get('token');
    if (token !== null) target.searchParams.set('token', token);
    if (message.filters !== undefined) target.searchParams.set('filters', JSON.stringify(message.filters));
    if (message.after !== undefined) target.searchParams.set('after', message.after);
    void this.#stream(target, message.id ?? 's');
  }

  close(code = 1000, reason = ''): void {
    this.#abort.abort();
    this.#closed(code, reason);
  }

  async #stream(target: URL, id: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(target, { headers: this.#headers, signal: this.#abort.signal, cache: 'no-store' });
    } catch (error) {
      return this.#closed(1006, `the gateway could not be reached: ${(error as Error)?.message}`);
    }
    if (response.status !== 200 || response.body === null) {
      const body = await response.text().catch(() => '');
      if (this.#refused !== undefined && this.readyState === 1) this.#refused(undefined, answerOf(response, body));
      else this.#closed(1006, `the gateway answered ${response.status}`);
      return;
    }
    let subscribed = false;
    const parser = new EventStreamParser(({ event, id: offset, data }) => {
      if (this.readyState !== 1) return;
      if (!subscribed && offset !== undefined) {
        subscribed = true;
        this.onmessage?.({ data: JSON.stringify({ op: 'subscribed', id, after: offset }) });
      }
      if (data === undefined) return;
      if (event === 'message') this.onmessage?.({ data: `{"op":"event","id":${JSON.stringify(id)},"event":${data}}` });
      else if (event === 'error') this.#ended(data);
    });
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      this.#watchIdle();
      while (this.readyState === 1) {
        this.#lastData = Date.now();
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch {
      // The connection failed or was aborted: a close follows.
    }
    this.#closed(1006, 'the event stream ended');
  }

  /** Ends the stream when it carried no event and no heartbeat comment for the idle timeout (checked a few times per timeout). */
  #watchIdle(): void {
    this.#idle = setInterval(
      () => {
        if (Date.now() - this.#lastData < this.#idleTimeoutMs) return;
        this.#abort.abort();
        this.#closed(1006, `no event or heartbeat for ${this.#idleTimeoutMs} ms: the stream was cut somewhere`);
      },
      Math.max(10, Math.floor(this.#idleTimeoutMs / 4)),
    );
  }

  /** An `event: error`: the close the WebSocket path would get for its code. */
  #ended(data: string): void {
    let error: { code?: unknown; message?: unknown } | undefined;
    try {
      error = (JSON.parse(data) as { error?: typeof error }).error;
    } catch {
      error = undefined;
    }
    const code = isErrorCode(error?.code) ? (ERRORS[error.code] as { close?: number }).close : undefined;
    this.#abort.abort();
    this.#closed(code ?? 1011, typeof error?.message === 'string' ? error.message : 'the event stream failed');
  }

  /** Closes once, asynchronously, as a WebSocket's close event comes. */
  #closed(code: number, reason: string): void {
    clearInterval(this.#idle);
    if (this.readyState >= 2) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }
}

/**
 * The SSE transport as `subscribe` picks a WebSocket implementation: the constructor, and whether it
 * takes headers. It does, in browsers too (fetch can send `Authorization`; the gateway answers the
 * CORS preflight that costs, cached 10 minutes): the token stays out of the URL, which proxies log.
 */
export const SSE_TRANSPORT = { ctor: SseSocket, headers: true };
