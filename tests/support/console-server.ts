import { readFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

// The console as the relay will serve it, for the browser tests: a built `dist` at /console/, its
// config.json naming the test gateway, and `/v1/*` passed to the test relay, all on one origin
// with the console's strict CSP, so that the page calls the API same-origin as in production.

/** The CSP the relay sends with the console: nothing inline, nothing from elsewhere but the gateway. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Serves `dist` at /console/, `extra` files by path, and proxies /v1/* to `relayUrl`; resolves with its origin. */
export async function serveConsole(
  onClose: (close: () => unknown) => void,
  options: { dist: string; relayUrl: string; gatewayUrl: string; extra?: Record<string, string> },
): Promise<string> {
  const relay = new URL(options.relayUrl);
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/v1/')) {
      const upstream = httpRequest(
        { host: relay.hostname, port: relay.port, method: req.method, path: req.url, headers: { ...req.headers, host: relay.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    if (options.extra?.[path] !== undefined) return void res.writeHead(200, { 'content-type': TYPES['.js'] }).end(options.extra[path]);
    if (path === '/console/config.json') {
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ gatewayUrl: options.gatewayUrl, relayUrl: options.relayUrl }));
    }
    if (!path.startsWith('/console/')) return void res.writeHead(404).end();
    const name = path === '/console/' ? 'index.html' : normalize(path.slice('/console/'.length));
    if (name.includes('..') || name.includes('/')) return void res.writeHead(404).end();
    try {
      const body = await readFile(join(options.dist, name));
      const type = TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';
      res.writeHead(200, { 'content-type': type, 'content-security-policy': CONSOLE_CSP }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  onClose(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
