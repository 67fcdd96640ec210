import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { type Accepted, makeEvent } from '@tenantcast/testkit';

// The relay's HTTP API as its route tests call it: requests that may fail, and assertions on the
// answers' shapes.

/** The structured-mode media type (CloudEvents HTTP binding §3.2). */
export const STRUCTURED = 'application/cloudevents+json';
/** The batched-mode media type (§3.3). */
export const BATCH = 'application/cloudevents-batch+json';
/** A stream offset, `<ms>-<seq>`. */
export const OFFSET = /^\d+-\d+$/;

/** The `error` of an error answer. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: Array<{ index?: number; path: string; message: string }>;
}

/** One event of a tenant's history, as GET /v1/tenants/{tenantid}/events lists it. */
export interface StoredEvent {
  offset: string;
  event: Record<string, unknown>;
}

/** A valid `com.qlik.web-integration.created` event (a registered type: its data is validated too); `data` overrides fields of its data. */
export function createdEvent(tenantid: string, data: Record<string, unknown> = {}): Record<string, unknown> {
  return makeEvent(tenantid, {
    type: 'com.qlik.web-integration.created',
    datacontenttype: 'application/json',
    data: { id: 'wi-1', name: 'Api client 1', validOrigins: ['https://a.example'], ...data },
  });
}

/** Where requests go by default, read at each request (a `useRelay` fixture fits). */
export interface RelayTarget {
  readonly relay: { readonly url: string };
  /** Sent as `Authorization: Bearer …` unless a request says otherwise. */
  readonly token: string;
}

/** How one request deviates from the target: `auth` is the whole Authorization header, null for none. */
export interface RequestOptions {
  auth?: string | null;
  url?: string;
}

/** Requests to `target`'s relay: POST /v1/events in each mode, its history, and raw HTTP. */
export function eventsApi(target: RelayTarget) {
  async function post(body: string | Uint8Array, headers: Record<string, string>, options: RequestOptions = {}): Promise<Response> {
    const auth = options.auth === undefined ? `Bearer ${target.token}` : options.auth;
    return fetch(`${options.url ?? target.relay.url}/v1/events`, {
      method: 'POST',
      headers: { ...(auth === null ? {} : { authorization: auth }), ...headers },
      body: body as BodyInit,
    });
  }

  return {
    post,
    /** POSTs one event in structured mode. */
    postStructured: (event: unknown, options?: RequestOptions) => post(JSON.stringify(event), { 'content-type': STRUCTURED }, options),
    /** POSTs events in batched mode. */
    postBatch: (events: unknown[], options?: RequestOptions) => post(JSON.stringify(events), { 'content-type': BATCH }, options),

    /** A tenant's stored events, oldest first, in one page (asserts there is no next one). */
    async history(tenantid: string, url = target.relay.url): Promise<StoredEvent[]> {
      const res = await fetch(`${url}/v1/tenants/${tenantid}/events?limit=1000`, { headers: { authorization: `Bearer ${target.token}` } });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      const body = JSON.parse(text) as { events: StoredEvent[]; next: string | null };
      assert.equal(body.next, null);
      return body.events;
    },

    /** Sends raw request lines and a body over a socket of its own; resolves with the status and body. */
    rawRequest(lines: string[], body: string): Promise<{ status: number; body: string }> {
      const { hostname, port } = new URL(target.relay.url);
      return new Promise((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`));
        const chunks: Buffer[] = [];
        socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('error', reject);
        socket.on('end', () => {
          socket.destroy();
          const text = Buffer.concat(chunks).toString('utf8');
          const [head = '', ...rest] = text.split('\r\n\r\n');
          resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: rest.join('\r\n\r\n') });
        });
      });
    },
  };
}

/** Asserts a 202 and the answer's shape; returns the accepted items. */
export async function expectAccepted(res: Response, count: number): Promise<Accepted[]> {
  const text = await res.text();
  assert.equal(res.status, 202, text);
  const body = JSON.parse(text) as { accepted: Accepted[] };
  assert.deepEqual(Object.keys(body), ['accepted']);
  assert.equal(body.accepted.length, count);
  for (const item of body.accepted) {
    assert.deepEqual(Object.keys(item).sort(), ['duplicate', 'id', 'offset', 'source']);
    assert.match(item.offset, OFFSET);
    assert.equal(typeof item.duplicate, 'boolean');
  }
  return body.accepted;
}

/** Asserts an error answer: status, `{"error":{"code","message"}}` with a message to act on. */
export async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as { error: ErrorBody };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code, text);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.trim().length > 0, 'the error message is not empty');
  return body.error;
}
