import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ServiceError } from '../errors.ts';

/** What the listener serves: a Prometheus registry (prom-client's `Registry` is one). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Where the listener binds and what it serves. */
export interface MetricsListenerOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Interface; loopback by default in every app's configuration. */
  host: string;
  registry: MetricsSource;
  /** Runs before each scrape, for gauges read at that moment (the relay's `redis_up`). */
  beforeScrape?: () => void;
  logger: { error(object: object, message: string): void };
}

/** Where a client on this machine reaches a server listening on `host`. */
function reachable(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The metrics of a server on a listener of their own, apart from its public one: `GET /metrics`
 * (Prometheus text) and 404 elsewhere. Metrics name tenants (the gateway's subscriptions per
 * tenant), so they are not for whoever reaches the public port; the listener binds loopback by
 * default (RELAY_METRICS_HOST, GATEWAY_METRICS_HOST), where the host's scraper reads it.
 */
export class MetricsListener {
  readonly #options: MetricsListenerOptions;
  readonly #server: Server;
  #url: string | undefined;

  constructor(options: MetricsListenerOptions) {
    this.#options = options;
    this.#server = createServer((request, response) => {
      this.#answer(request, response).catch((error: unknown) => {
        options.logger.error({ err: error }, 'metrics scrape failed');
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
  }

  /** The listener's base URL once listening, e.g. `http://127.0.0.1:9080`; undefined before. */
  get url(): string | undefined {
    return this.#url;
  }

  /** Starts listening; resolves with the base URL. */
  async listen(): Promise<string> {
    const { port, host } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    this.#url = `http://${reachable(host)}:${bound}`;
    return this.#url;
  }

  /** Stops listening and ends open scrapes' connections. */
  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      const error = new ServiceError('TC_ERR_NOT_FOUND', 'This listener serves GET /metrics only.');
      response.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(error.toBody()));
      return;
    }
    this.#options.beforeScrape?.();
    const { registry } = this.#options;
    const text = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : text);
  }
}
