import { type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import type { Socket } from 'node:net';
import { until } from './wait.ts';
import type { Cleanup, Delivered } from './ws-clients.ts';

// Server-Sent Events clients of a gateway under test, on plain node:http, that record every field
// they read: a test sees the wire (ids, comments, error events), which EventSource clients hide.

/** One message of an event stream (HTML Living Standard §9.2.6): what was dispatched, or a comment. */
export type StreamMessage =
  | { kind: 'message'; event: string; id: string | undefined; data: string }
  | { kind: 'id'; id: string }
  | { kind: 'comment'; text: string };

/** How a test stream is opened. */
export interface StreamOptions {
  /** Sent as `Authorization: Bearer …` when given. */
  token?: string;
  /** Extra request headers (Last-Event-ID, Origin, …); `Accept: text/event-stream` unless given. */
  headers?: Record<string, string>;
}

/** A stream whose answer was not 200: the status and the parsed JSON body. */
export interface StreamRefusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error: { code: string; message: string } };
}

/** An open event stream that records each message it reads. */
export class TestStream {
  readonly response: IncomingMessage;
  /** The TCP socket, to pause reading as a slow client would. */
  readonly socket: Socket;
  readonly messages: StreamMessage[] = [];
  /** Resolves when the gateway ends the stream (or the socket goes). */
  readonly ended: Promise<void>;
  #ended = false;

  constructor(response: IncomingMessage, socket: Socket) {
    this.response = response;
    this.socket = socket;
    response.setEncoding('utf8');
    let buffer = '';
    const fields: { event?: string; id?: string; data?: string[] } = {};
    const dispatch = () => {
      if (fields.data === undefined) {
        if (fields.id !== undefined) this.messages.push({ kind: 'id', id: fields.id });
      } else this.messages.push({ kind: 'message', event: fields.event ?? 'message', id: fields.id, data: fields.data.join('\n') });
      delete fields.event;
      delete fields.id;
      delete fields.data;
    };
    response.on('data', (chunk: string) => {
      buffer += chunk;
      let end = buffer.indexOf('\n');
      while (end >= 0) {
        const line = buffer.slice(0, end).replace(/\r$/, '');
        buffer = buffer.slice(end + 1);
        end = buffer.indexOf('\n');
        if (line === '') dispatch();
        else if (line.startsWith(':')) this.messages.push({ kind: 'comment', text: line.slice(1) });
        else {
          const colon = line.indexOf(':');
          const name = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (name === 'data') fields.data = [...(fields.data ?? []), value];
          else if (name === 'event') fields.event = value;
          else if (name === 'id') fields.id = value;
        }
      }
    });
    this.ended = new Promise((resolve) => {
      const end = () => {
        this.#ended = true;
        resolve();
      };
      response.once('end', end);
      response.once('close', end);
      response.once('error', end);
    });
  }

  /** Whether the stream ended. */
  get isEnded(): boolean {
    return this.#ended;
  }

  /** The events received (`event: message`), parsed. */
  get events(): Delivered[] {
    return this.messages.flatMap((m) => (m.kind === 'message' && m.event === 'message' ? [JSON.parse(m.data) as Delivered] : []));
  }

  /** The `event: error` messages received, parsed: the shared error body. */
  get errors(): { error: { code: string; message: string } }[] {
    return this.messages.flatMap((m) => (m.kind === 'message' && m.event === 'error' ? [JSON.parse(m.data)] : []));
  }

  /** Waits until `count` events have arrived. */
  received(count: number, ms = 10_000): Promise<void> {
    return until(() => this.events.length >= count, `${count} events (got ${this.events.length})`, ms);
  }

  /** Waits until an event with `id` has arrived; resolves with the events so far. */
  async receivedId(id: string, ms = 10_000): Promise<Delivered[]> {
    await until(() => this.events.some((e) => e.id === id), `event ${id}`, ms);
    return this.events;
  }

  close(): void {
    this.response.destroy();
  }
}

/** Sends the stream request; resolves with the answer, whatever its status. */
function get(url: string, options: StreamOptions): Promise<IncomingMessage & { tcp: Socket }> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    // A connection of its own (no agent): a stream holds it, and a test may pause it.
    const sent = request(url, { headers, agent: false }, (response) => resolve(Object.assign(response, { tcp: sent.socket! })));
    sent.on('error', reject).end();
  });
}

/** Opens an event stream (an http: URL); rejects unless the gateway answers 200. Closed when the test ends. */
export async function openStream(t: Cleanup, url: string, options: StreamOptions = {}): Promise<TestStream> {
  const response = await get(url, options);
  if (response.statusCode !== 200) {
    response.resume();
    throw new Error(`the event stream was refused with ${response.statusCode}`);
  }
  const stream = new TestStream(response, response.tcp);
  t.after(() => stream.close());
  return stream;
}

/** Requests an event stream that the gateway must refuse; resolves with the refusal. */
export async function streamRefusal(url: string, options: StreamOptions = {}): Promise<StreamRefusal> {
  const response = await get(url, options);
  if (response.statusCode === 200) {
    response.destroy();
    throw new Error('the event stream was accepted');
  }
  let text = '';
  response.setEncoding('utf8');
  for await (const chunk of response) text += chunk;
  return { status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) };
}
