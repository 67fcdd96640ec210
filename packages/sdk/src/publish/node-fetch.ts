import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface NodeFetchOptions {
  /** Most sockets open to one relay at once (requests beyond wait for one). Default 64. */
  maxSockets?: number;
}

/**
 * A `fetch` for `RelayClient` in Node, over `node:http` / `node:https` with kept-alive sockets
 * (Nagle off): it sends the same requests and gives the same `Response`s as the global `fetch`, for
 * a fifth of its CPU per request (undici's `fetch` spends about 0.2 ms of CPU on a small POST, Node's
 * HTTP client about 0.03 ms; see BENCHMARKS.md, latency), which a service publishing events one at a
 * time pays on every event. Bodies are strings (what RelayClient sends); `signal` aborts as fetch's does.
 * @example
 * import { RelayClient } from '@tenantcast/sdk';
 * import { createNodeFetch } from '@tenantcast/sdk/node';
 * const relay = new RelayClient({ url: 'http://127.0.0.1:8080', token, fetch: createNodeFetch() });
 */
export function createNodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, noDelay: true };
  const agents = { 'http:': new HttpAgent(agentOptions), 'https:': new HttpsAgent(agentOptions) };
  const nodeFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        reject(new TypeError(`fetch: unsupported protocol ${url.protocol}`));
        return;
      }
      if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') {
        reject(new TypeError('fetch (node): the body must be a string'));
        return;
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      if (typeof init.body === 'string') headers['content-length'] = String(Buffer.byteLength(init.body));
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const onAbort = () => {
        request.destroy();
        reject(signal!.reason);
      };
      const request = send(url, { method: init.method ?? 'GET', headers, agent: agents[url.protocol] }, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          try {
            resolve(toResponse(response, chunks));
          } catch (error) {
            reject(error);
          }
        });
      });
      function fail(error: unknown): void {
        signal?.removeEventListener('abort', onAbort);
        reject(new TypeError('fetch failed', { cause: error }));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', fail);
      request.end(init.body ?? undefined);
    });
  return nodeFetch as typeof fetch;
}

/** The answer as a WHATWG Response (what RelayClient reads: status, headers, text, json). */
function toResponse(response: IncomingMessage, chunks: Buffer[]): Response {
  const headers = new Headers();
  for (let i = 0; i < response.rawHeaders.length; i += 2) headers.append(response.rawHeaders[i]!, response.rawHeaders[i + 1]!);
  const status = response.statusCode ?? 0;
  // A Response cannot have a body with these statuses (Fetch standard, "null body status").
  const body = status === 204 || status === 205 || status === 304 ? null : Buffer.concat(chunks);
  return new Response(body, { status, statusText: response.statusMessage ?? '', headers });
}
