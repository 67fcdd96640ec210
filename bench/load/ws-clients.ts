/**
 * Load process: holds WebSocket clients of one of the servers under test and counts what they get.
 *
 * The clients speak RFC 6455 on raw TCP sockets: the upgrade request, then a frame parser that
 * reads each frame's header, answers pings, and counts data frames without decoding their text.
 * On two cores the load generator shares the CPU with the server under test; a full WebSocket
 * client (ws's 'message' events, UTF-8 decoding, an object per message) would cost about what the
 * server does per message and measure itself. The same client reads every server:
 * - `tenantcast`: the gateway's plain CloudEvents mode (subprotocol cloudevents.json), one text frame per event;
 * - `socketio`: Engine.IO v4 / Socket.IO v5 over WebSocket: open, connect with an auth token,
 *   answer pings; `42[…]` frames are events;
 * - `raw`: the bare ws ceiling, one text frame per event;
 * - `sse`: the gateway's Server-Sent Events (a GET with Accept: text/event-stream), one `data:` line
 *   per event, counted by its line start without parsing (the stored JSON holds no line break).
 */
import { randomBytes } from 'node:crypto';
import { type Socket, connect as tcpConnect } from 'node:net';
import { now, signalled, sleep } from '../lib/clock.ts';
import { PUBLISH_TIME_PREFIX, publishTimeOf } from '../lib/events.ts';
import { serve } from '../lib/rpc.ts';

type Protocol = 'tenantcast' | 'socketio' | 'raw' | 'sse';

export interface ConnectParams {
  urls: string[];
  protocol: Protocol;
  /** Socket.IO: the auth token sent with the namespace connect. */
  token?: string;
  /** Handshakes in flight. */
  concurrency: number;
  timeoutMs: number;
}

export interface ArmParams {
  /** Messages to wait for, over all clients of this process. */
  expected: number;
  /** Record publish→receive latency of up to this many messages. */
  latencySamples?: number;
}

export interface WaitResult {
  received: number;
  firstAt: number;
  lastAt: number;
  timedOut: boolean;
  latencies?: Float64Array;
  /** Clients that closed while armed. */
  closed: number;
}

let received = 0;
let firstAt = 0;
let lastAt = 0;
let expected = Number.POSITIVE_INFINITY;
let closedWhileArmed = 0;
let latencies: Float64Array | undefined;
let latencyCount = 0;
let done: (() => void) | undefined;

function onEvent(payload: Buffer | undefined): void {
  const t = now();
  if (received === 0) firstAt = t;
  received++;
  lastAt = t;
  if (payload !== undefined && latencies !== undefined && latencyCount < latencies.length)
    latencies[latencyCount++] = t - publishTimeOf(payload);
  if (received >= expected && done !== undefined) {
    const d = done;
    done = undefined;
    d();
  }
}

/** A masked client frame (the mask key is zero, so the payload goes as it is). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const extended = payload.length > 125 ? 2 : 0;
  if (payload.length > 0xffff) throw new Error('client frames here are small');
  const frame = Buffer.alloc(6 + extended + payload.length);
  frame[0] = 0x80 | opcode;
  if (extended) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(payload.length, 2);
  } else frame[1] = 0x80 | payload.length;
  payload.copy(frame, 6 + extended);
  return frame;
}

/** One client: a TCP socket after a WebSocket upgrade, and an incremental frame parser. */
class Client {
  readonly socket: Socket;
  readonly protocol: Protocol;
  readonly token: string | undefined;
  open = true;
  #onReady: ((error?: Error) => void) | undefined;
  // Frame parser state.
  readonly #header = Buffer.alloc(14);
  #headerLength = 0;
  #remaining = 0;
  #opcode = 0;
  #fin = false;
  /** Payload bytes kept of the current frame. */
  #keep = 0;
  #kept: Buffer[] = [];
  #keptLength = 0;

  constructor(socket: Socket, protocol: Protocol, token: string | undefined, onReady: (error?: Error) => void) {
    this.socket = socket;
    this.protocol = protocol;
    this.token = token;
    this.#onReady = onReady;
  }

  /** Plain WebSocket protocols are ready once upgraded; Socket.IO once its namespace connect is answered. */
  upgraded(): void {
    if (this.protocol !== 'socketio') this.#ready();
  }

  #ready(error?: Error): void {
    const onReady = this.#onReady;
    this.#onReady = undefined;
    onReady?.(error);
  }

  send(opcode: number, payload: string): void {
    this.socket.write(clientFrame(opcode, Buffer.from(payload)));
  }

  /** The last bytes of the previous chunk (SSE): a `\ndata:` split between two reads is counted once. */
  #tail: Buffer = Buffer.alloc(0);

  /** Feeds bytes read from an event stream: each `\ndata:` is one event (after its `id:` line). */
  #readEventStream(chunk: Buffer): void {
    const text = this.#tail.length > 0 ? Buffer.concat([this.#tail, chunk]) : chunk;
    let at = text.indexOf(DATA_LINE);
    while (at >= 0) {
      onEvent(undefined);
      at = text.indexOf(DATA_LINE, at + DATA_LINE.length);
    }
    this.#tail = text.subarray(Math.max(0, text.length - DATA_LINE.length + 1));
  }

  /** Feeds bytes read from the socket. */
  read(chunk: Buffer): void {
    if (this.protocol === 'sse') {
      this.#readEventStream(chunk);
      return;
    }
    let i = 0;
    const length = chunk.length;
    while (i < length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, length - i);
        if (this.#keptLength < this.#keep) {
          const part = chunk.subarray(i, i + Math.min(take, this.#keep - this.#keptLength));
          this.#kept.push(part);
          this.#keptLength += part.length;
        }
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#frame();
        continue;
      }
      // Header: 2 bytes, then 2 or 8 of extended length (server frames are not masked).
      this.#header[this.#headerLength++] = chunk[i++]!;
      if (this.#headerLength < 2) continue;
      const len7 = this.#header[1]! & 0x7f;
      const need = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      if (this.#headerLength < need) continue;
      this.#fin = (this.#header[0]! & 0x80) !== 0;
      this.#opcode = this.#header[0]! & 0x0f;
      this.#remaining = len7 === 126 ? this.#header.readUInt16BE(2) : len7 === 127 ? Number(this.#header.readBigUInt64BE(2)) : len7;
      this.#headerLength = 0;
      // Control frames are kept whole; of a data frame, what the protocol and the latency need.
      this.#keep = this.#opcode >= 8 ? 125 : latencies !== undefined ? PUBLISH_TIME_PREFIX : this.protocol === 'socketio' ? 2 : 0;
      this.#kept = [];
      this.#keptLength = 0;
      if (this.#remaining === 0) this.#frame();
    }
  }

  #frame(): void {
    const opcode = this.#opcode;
    const payload = this.#keptLength === 0 ? undefined : this.#kept.length === 1 ? this.#kept[0]! : Buffer.concat(this.#kept);
    this.#kept = [];
    this.#keptLength = 0;
    if (opcode === 0x9) {
      this.socket.write(clientFrame(0xa, payload ?? Buffer.alloc(0)));
      return;
    }
    if (opcode === 0x8 || opcode === 0xa) return;
    if (!this.#fin) return; // servers here do not fragment; count a message once, on its last frame
    if (this.protocol !== 'socketio') {
      onEvent(payload);
      return;
    }
    // Engine.IO packet type, then Socket.IO packet type.
    const type = payload?.[0];
    const sub = payload?.[1];
    if (type === 0x34 /* 4 message */) {
      if (sub === 0x32 /* 2 event */) onEvent(payload);
      else if (sub === 0x30 /* 0 connect */) this.#ready();
      else if (sub === 0x34 /* 4 connect error */) this.#ready(new Error('socket.io connect error'));
    } else if (type === 0x32 /* 2 ping */) this.send(0x1, '3');
    else if (type === 0x30 /* 0 open */) this.send(0x1, `40${JSON.stringify({ token: this.token })}`);
  }
}

const clients: Client[] = [];

const DATA_LINE = Buffer.from('\ndata:');

/** Opens one client; resolves once it can receive events. */
function open(url: string, protocol: Protocol, token: string | undefined, timeoutMs: number): Promise<Client> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(target.port), target.hostname);
    socket.setNoDelay(true);
    let settled = false;
    let client: Client | undefined;
    const timer = setTimeout(() => fail(new Error('handshake timeout')), timeoutMs);
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => {
      if (!settled) fail(new Error('closed before ready'));
      else if (client?.open) {
        client.open = false;
        if (expected !== Number.POSITIVE_INFINITY) {
          closedWhileArmed++;
          // Nothing more can arrive once every client is gone.
          if (done !== undefined && clients.every((c) => !c.open)) {
            const d = done;
            done = undefined;
            d();
          }
        }
      }
    });
    socket.on('connect', () => {
      if (protocol === 'sse') {
        socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: text/event-stream\r\n\r\n`);
        return;
      }
      socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
          (protocol === 'tenantcast' ? 'Sec-WebSocket-Protocol: cloudevents.json\r\n' : '') +
          '\r\n',
      );
    });
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      const status = head.toString('latin1', 9, 12);
      if (status !== (protocol === 'sse' ? '200' : '101')) {
        fail(new Error(`HTTP ${status}`));
        return;
      }
      client = new Client(socket, protocol, token, (error) => {
        if (error) fail(error);
        else if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(client!);
        }
      });
      socket.on('data', (data: Buffer) => client!.read(data));
      client.upgraded();
      if (head.length > end + 4) client.read(head.subarray(end + 4));
    };
    socket.on('data', onHead);
  });
}

serve({
  async connect(params: ConnectParams) {
    const started = now();
    let next = 0;
    let failed = 0;
    const errors = new Map<string, number>();
    const worker = async () => {
      while (next < params.urls.length) {
        const url = params.urls[next++]!;
        let attempt = 0;
        while (true) {
          try {
            clients.push(await open(url, params.protocol, params.token, params.timeoutMs));
            break;
          } catch (error) {
            if (++attempt >= 3) {
              failed++;
              const message = (error as Error).message;
              errors.set(message, (errors.get(message) ?? 0) + 1);
              break;
            }
            await sleep(100 * attempt);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, params.concurrency) }, worker));
    return { connected: clients.length, failed, errors: Object.fromEntries(errors), ms: now() - started };
  },
  arm(params: ArmParams) {
    received = 0;
    firstAt = 0;
    lastAt = 0;
    closedWhileArmed = 0;
    expected = params.expected;
    latencyCount = 0;
    latencies = params.latencySamples ? new Float64Array(params.latencySamples) : undefined;
    return { open: clients.filter((c) => c.open).length };
  },
  async wait(params: { timeoutMs: number; settleMs?: number }): Promise<WaitResult> {
    let timedOut = false;
    if (received < expected) {
      ({ timedOut } = await signalled(params.timeoutMs, (signal) => {
        done = signal;
      }));
    }
    // Anything past the expected count would be a duplicate: give it a moment to show up.
    if (params.settleMs) await sleep(params.settleMs);
    const result: WaitResult = {
      received,
      firstAt,
      lastAt,
      timedOut,
      closed: closedWhileArmed,
      ...(latencies ? { latencies: latencies.slice(0, latencyCount) } : {}),
    };
    expected = Number.POSITIVE_INFINITY;
    latencies = undefined;
    return result;
  },
  /** Times one client from its connect to its `expected`-th message: resume with after=. */
  async catchUp(params: { url: string; protocol: Protocol; expected: number; timeoutMs: number }) {
    received = 0;
    firstAt = 0;
    lastAt = 0;
    expected = params.expected;
    latencies = undefined;
    const startAt = now();
    const client = await open(params.url, params.protocol, undefined, params.timeoutMs);
    const upgradedAt = now();
    let timedOut = false;
    if (received < expected) {
      ({ timedOut } = await signalled(params.timeoutMs, (signal) => {
        done = signal;
      }));
    }
    client.socket.destroy();
    const result = { received, ms: lastAt - startAt, upgradeMs: upgradedAt - startAt, timedOut };
    expected = Number.POSITIVE_INFINITY;
    return result;
  },
  counts() {
    return { received, open: clients.filter((c) => c.open).length };
  },
  async close() {
    for (const c of clients) c.socket.destroy();
    clients.length = 0;
    return true;
  },
});
