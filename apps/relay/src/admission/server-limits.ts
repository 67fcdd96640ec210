import type { Server, ServerOptions } from 'node:http';
import type { RelayConfig } from '../config.ts';
import type { RelayMetrics } from '../ops/metrics.ts';

/**
 * How often Node checks its open requests against the header and request timeouts, in ms. Node's
 * default, 30 s, lets a timeout fire up to 30 s late; every second keeps a slow body's hold within
 * about a second of `RELAY_REQUEST_TIMEOUT_MS`, for the cost of one walk over the requests in flight.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * The Fastify options that bound what a client may hold, whoever it is: Fastify sets no request
 * timeout (0) by default and Node checks its timeouts only every 30 s, so a client that sent a byte
 * every 20 s kept its connection for ever. The defaults, and why:
 * - the request timeout, 30 s: a publisher sends at most `RELAY_BODY_LIMIT_BYTES` (1 MiB), which
 *   takes 30 s only below about 35 KB/s; a body slower than that is a client to cut, not to wait for;
 * - the headers timeout, 10 s: headers fit in one packet; a client that trickles them (slowloris)
 *   holds a connection without ever naming a route, and so without a token check;
 * - the keep-alive timeout, 72 s (Fastify's default): longer than the 60 s idle timeout of common
 *   load balancers, so that they close idle connections first and never reuse one the relay is
 *   closing (a 502 at the balancer).
 * The timeouts end in `createClientErrorHandler` (errors.ts): 408 TC_ERR_REQUEST_TIMEOUT, then close.
 */
export function serverLimitOptions(config: RelayConfig): {
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
 * Caps the connections open at once (`RELAY_MAX_CONNECTIONS`, default 10,000): past it Node closes
 * a new connection on arrival, before it costs a parser or a request, and the drop is counted. Each
 * open connection holds a file descriptor and socket buffers; 10,000 stays within a common 65,536
 * descriptor limit with room for Redis and webhook connections, and far above what one relay
 * serves (publishers reuse kept-alive connections). Unauthenticated connections are bounded by the
 * timeouts above, so the cap is what keeps many of them at once from exhausting descriptors.
 */
export function capConnections(server: Server, config: RelayConfig, metrics: Pick<RelayMetrics, 'connectionsDropped'>): void {
  server.maxConnections = config.maxConnections;
  server.on('drop', () => metrics.connectionsDropped.inc());
}
