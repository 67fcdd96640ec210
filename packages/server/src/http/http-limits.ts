import type { Server, ServerOptions } from 'node:http';

/** The options of `serverOptions` (config.ts) that bound what a client may hold. */
export interface HttpLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

/**
 * How often Node checks its open requests against the header and request timeouts, in ms. Node's
 * default, 30 s, lets a timeout fire up to 30 s late; every second keeps a slow body's hold within
 * about a second of the request timeout, for the cost of one walk over the requests in flight.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * The HTTP server options that bound what a client may hold, whoever it is: Fastify sets no request
 * timeout (0) by default and Node checks its timeouts only every 30 s, so a client that sent a byte
 * every 20 s kept its connection for ever. For Node's `http.createServer` (`http`) and Fastify (all
 * of it). The defaults (`serverOptions`), and why:
 * - the request timeout, 30 s: a publisher sends at most `RELAY_BODY_LIMIT_BYTES` (1 MiB), which
 *   takes 30 s only below about 35 KB/s; a body slower than that is a client to cut, not to wait for
 *   (a WebSocket upgrade has no body; once upgraded, a socket is no request and no timeout applies);
 * - the headers timeout, 10 s: headers fit in one packet; a client that trickles them (slowloris)
 *   holds a connection without ever naming a route, and so without a token check;
 * - the keep-alive timeout, 72 s (Fastify's default): longer than the 60 s idle timeout of common
 *   load balancers, so that they close idle connections first and never reuse one the relay is
 *   closing (a 502 at the balancer).
 * The relay answers the timeouts 408 TC_ERR_REQUEST_TIMEOUT (its errors.ts); the gateway leaves
 * them to Node (408, then close).
 */
export function httpLimitOptions(config: HttpLimits): {
  requestTimeout: number;
  keepAliveTimeout: number;
  http: ServerOptions;
} {
  return {
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // Fastify has no option for these; it hands `http` to `http.createServer`.
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
  };
}

/**
 * Caps the connections open at once (`RELAY_MAX_CONNECTIONS`, default 10,000;
 * `GATEWAY_MAX_CONNECTIONS`, default 100,000, WebSockets included): past it Node closes a new
 * connection on arrival, before it costs a parser or a request, and `dropped` counts it. Each open
 * connection holds a file descriptor and socket buffers; the relay's 10,000 stays within a common
 * 65,536 descriptor limit with room for Redis and webhook connections, and far above what one relay
 * serves (publishers reuse kept-alive connections); a gateway's limit is its subscribers', so raise
 * the descriptor limit (`ulimit -n`) with it. Unauthenticated connections are bounded by the
 * timeouts above, so the cap is what keeps many of them at once from exhausting descriptors.
 */
export function capConnections(server: Server, config: Pick<HttpLimits, 'maxConnections'>, dropped: { inc(): void }): void {
  server.maxConnections = config.maxConnections;
  server.on('drop', () => dropped.inc());
}
