import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { WebSocket } from 'ws';
import { within } from './wait.ts';

// WebSocket clients of a gateway under test, that record what they get and clean up after themselves.

/** A CloudEvent as the gateway delivers it: the stored event plus `relayoffset`. */
export type Delivered = Record<string, unknown> & { relayoffset: string; id: string; tenantid: string; type: string };

/** Registers cleanup; `TestContext` and `SuiteContext` both fit. */
export interface Cleanup {
  after(fn: () => unknown): void;
}

/** Query of a plain-mode upgrade. */
export interface PlainQuery {
  filters?: unknown;
  after?: string;
  token?: string;
}

/** The URL of a tenant's plain-mode endpoint, with `filters` URL-encoded as JSON. */
export function plainUrl(wsUrl: string, tenant: string, query: PlainQuery = {}): string {
  const params: string[] = [];
  if (query.filters !== undefined) params.push(`filters=${encodeURIComponent(JSON.stringify(query.filters))}`);
  if (query.after !== undefined) params.push(`after=${encodeURIComponent(query.after)}`);
  if (query.token !== undefined) params.push(`token=${encodeURIComponent(query.token)}`);
  return `${wsUrl}/v1/tenants/${encodeURIComponent(tenant)}/events${params.length > 0 ? `?${params.join('&')}` : ''}`;
}

/** How a test client connects. */
export interface ConnectOptions {
  /** Subprotocols to offer; default `cloudevents.json`. */
  protocols?: string[];
  /** Sent as `Authorization: Bearer …` when given. */
  token?: string;
  headers?: Record<string, string>;
  /** ws 8: whether to answer pings by itself. Default true. */
  autoPong?: boolean;
}

/** An upgrade refused before the 101. */
export interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: { error: { code: string; message: string; details?: unknown[] } };
  text: string;
}

interface Waiter {
  done: () => boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A connected WebSocket client that records every message it gets. */
export class TestClient {
  readonly ws: WebSocket;
  /** Every text message, parsed as JSON, in arrival order. */
  readonly messages: Record<string, unknown>[] = [];
  /** Whether any message came as a binary frame. */
  binaryFrames = 0;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  closeInfo: { code: number; reason: string } | undefined;
  readonly #waiters = new Set<Waiter>();

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryFrames++;
      this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
      this.#check();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.#check();
      });
    });
  }

  /** The messages as delivered CloudEvents (plain mode). */
  get events(): Delivered[] {
    return this.messages as Delivered[];
  }

  /** Waits until `done()` holds; fails after `timeoutMs`, or when the connection closes first. */
  until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (done()) return Promise.resolve();
    if (this.closeInfo !== undefined) {
      return Promise.reject(new Error(`the connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) before ${what} came`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.messages.length} messages`));
      }, timeoutMs);
      const waiter: Waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Waits for `count` messages in all. */
  received(count: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.messages.length >= count, `${count} messages`, timeoutMs);
  }

  /** Waits for a message with this `id` attribute (plain mode) and returns the messages up to it. */
  async receivedId(id: string, timeoutMs?: number): Promise<Delivered[]> {
    await this.until(() => this.messages.some((m) => m.id === id), `event ${id}`, timeoutMs);
    const index = this.messages.findIndex((m) => m.id === id);
    return this.events.slice(0, index + 1);
  }

  /** Waits for the close and returns its code and reason. */
  closedWith(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return within(this.closed, 'the connection to close', timeoutMs);
  }

  /** Sends a JSON message (multiplexed mode). */
  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  #check(): void {
    for (const waiter of this.#waiters) {
      if (waiter.done()) {
        this.#waiters.delete(waiter);
        waiter.resolve();
      } else if (this.closeInfo !== undefined) {
        this.#waiters.delete(waiter);
        waiter.reject(
          new Error(`the connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) with ${this.messages.length} messages`),
        );
      }
    }
  }
}

function headersOf(options: ConnectOptions): Record<string, string> {
  return { ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }), ...options.headers };
}

/** Opens a WebSocket and resolves once it is open; the client is terminated after the test. */
export function connect(t: Cleanup, url: string, options: ConnectOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, options.protocols ?? ['cloudevents.json'], {
    headers: headersOf(options),
    autoPong: options.autoPong ?? true,
  });
  const client = new TestClient(ws);
  t.after(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => reject(new Error(`upgrade refused with ${response.statusCode}: ${text}`)));
    });
    ws.on('error', reject);
  });
}

/** Attempts an upgrade that must be refused; resolves with the HTTP status, headers and JSON body. */
export function refusal(url: string, options: ConnectOptions = {}): Promise<Refusal> {
  const ws = new WebSocket(url, options.protocols ?? ['cloudevents.json'], { headers: headersOf(options) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`the upgrade of ${url} succeeded; it should have been refused`));
    });
    ws.on('error', (error) => reject(error));
    ws.once('unexpected-response', (request, response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => {
        request.destroy();
        try {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text), text });
        } catch {
          reject(new Error(`the ${response.statusCode} refusal's body is not JSON: ${text}`));
        }
      });
    });
  });
}

/** Asserts a refusal's status, its error code and the `{"error":{"code","message"}}` body. */
export function assertRefusal(refused: Refusal, status: number, code: string): void {
  assert.equal(refused.status, status, refused.text);
  assert.match(String(refused.headers['content-type']), /^application\/json/);
  assert.deepEqual(Object.keys(refused.body), ['error']);
  assert.equal(refused.body.error.code, code, refused.text);
  assert.equal(typeof refused.body.error.message, 'string');
  assert.ok(refused.body.error.message.trim().length > 0, 'the message says what to change');
}
