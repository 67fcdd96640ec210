import { connect, type Socket } from 'node:net';

// A client that sends a request's headers and holds its body back (or trickles it): what the relay's
// early refusals and timeouts are tested with. fetch cannot do this; a raw socket can.

/** The relay's first answer on a held upload. */
export interface HeldAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** One held upload: its socket, the relay's answer when it comes, and when the relay closes it. */
export interface HeldUpload {
  readonly socket: Socket;
  /** Resolves with the relay's first complete answer; rejects if the connection closes without one. */
  readonly answer: Promise<HeldAnswer>;
  /** Resolves when the connection is closed (by either side), with the ms since the headers went out. */
  readonly closed: Promise<number>;
  /** Writes body bytes now. */
  write(bytes: string | Uint8Array): void;
  /** Writes one byte every `everyMs` until the connection closes. */
  trickle(everyMs: number): void;
}

/** The request line and headers of a held upload; `Host` and `Content-Length` are added. */
export interface HeldRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** The body length the request declares. */
  contentLength: number;
}

/**
 * Opens a connection to `url` and sends `request`'s head, declaring `contentLength` body bytes and
 * sending none; `initialBody` bytes follow at once when given.
 */
export function holdUpload(url: string, request: HeldRequest, initialBody?: Uint8Array): HeldUpload {
  const { hostname, port } = new URL(url);
  const head = [
    `${request.method ?? 'POST'} ${request.path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    ...Object.entries(request.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${request.contentLength}`,
  ].join('\r\n');
  // Written at once: the socket sends what it was given, in order, once it connects.
  const sentAt = Date.now();
  const socket = connect(Number(port), hostname);
  socket.write(`${head}\r\n\r\n`);
  if (initialBody !== undefined) socket.write(initialBody);
  // A reset after the answer is the relay closing what it refused: not the test's failure.
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - sentAt)));
  const answer = new Promise<HeldAnswer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseAnswer(received);
      if (parsed !== undefined) resolve(parsed);
    });
    socket.once('close', () =>
      reject(new Error(`the connection closed without a complete answer: ${JSON.stringify(received.toString())}`)),
    );
  });
  // Awaited or not, a missing answer must not become an unhandled rejection.
  answer.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  socket.once('close', () => clearInterval(timer));
  return {
    socket,
    answer,
    closed,
    write: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    trickle(everyMs) {
      timer = setInterval(() => {
        if (!socket.destroyed) socket.write('x');
      }, everyMs);
    },
  };
}

/** The first HTTP/1.1 answer in `bytes`, once its head and its Content-Length body are all there. */
function parseAnswer(bytes: Buffer): HeldAnswer | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = bytes.subarray(end + 4);
  if (body.length < length) return undefined;
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]), headers, body: body.subarray(0, length).toString('utf8') };
}
