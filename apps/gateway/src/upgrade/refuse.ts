import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServiceError } from '@tenantcast/server';

/**
 * The one way an upgrade is refused, before any 101, as ws's `abortHandshake(socket, code, message,
 * headers)` does: an HTTP response with the error's status, its reason phrase from Node's
 * `http.STATUS_CODES`, the error's headers (Retry-After, Allow, …) and its JSON body, then the socket
 * ends.
 */
export function refuseUpgrade(socket: Duplex, error: ServiceError): void {
  const body = JSON.stringify(error.toBody());
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...(error.retryAfter === undefined ? {} : { 'Retry-After': error.retryAfter }),
    ...error.headers,
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n${lines.join('')}\r\n${body}`);
}

/**
 * The same refusal on a plain HTTP request (a Server-Sent Events request refused before its stream
 * starts): the error's status, its headers (Retry-After, …) and its JSON body, with `headers` added.
 */
export function refuseRequest(response: ServerResponse, error: ServiceError, headers: Readonly<Record<string, string>> = {}): void {
  const body = JSON.stringify(error.toBody());
  response
    .writeHead(error.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      ...(error.retryAfter === undefined ? {} : { 'retry-after': String(error.retryAfter) }),
      ...error.headers,
      ...headers,
    })
    .end(body);
}
