import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LifecycleState, ServiceError } from '@tenantcast/server';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** What the ops routes read of the gateway. */
export interface OpsDeps {
  /** Where the gateway is in its life: it is ready only while running. */
  lifecycle: { readonly running: boolean; readonly state: LifecycleState };
  /** Whether the gateway's Redis connections (commands and subscriptions) are both ready. */
  redisReady(): boolean;
  registry: Registry;
  logger: Pick<Logger, 'error'>;
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

/** Answers with an error's JSON body and headers; with its own status unless the route says another. */
function answerError(response: ServerResponse, error: ServiceError, status = error.status): void {
  json(response, status, error.toBody(), { ...error.headers });
}

/**
 * The gateway's plain HTTP requests: `/healthz` (the process is up), `/readyz` (running, and Redis
 * answers), `/metrics` (Prometheus text); 426 for plain HTTP on a WebSocket endpoint (`/v1/*`), 404
 * elsewhere.
 */
export function opsRoutes(deps: OpsDeps): (request: IncomingMessage, response: ServerResponse) => void {
  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return json(response, 200, { status: 'ok' });
    if (path === '/readyz') {
      if (!deps.lifecycle.running) return json(response, 503, { status: deps.lifecycle.state });
      if (deps.redisReady()) return json(response, 200, { status: 'ready' });
      return json(response, 503, { status: 'redis unavailable' }, { 'retry-after': '1' });
    }
    if (path === '/metrics') {
      response.writeHead(200, { 'content-type': deps.registry.contentType }).end(await deps.registry.metrics());
      return;
    }
    if (path?.startsWith('/v1/')) {
      // 426 Upgrade Required (RFC 9110 §15.5.22), with the protocol to upgrade to.
      const error = new ServiceError('TC_ERR_BAD_REQUEST', 'This is a WebSocket endpoint: send an Upgrade request.', {
        headers: { upgrade: 'websocket' },
      });
      return answerError(response, error, 426);
    }
    const message = `No route ${path?.slice(0, 200)}; WebSocket endpoints are /v1/tenants/{tenantid}/events and /v1/connect.`;
    answerError(response, new ServiceError('TC_ERR_NOT_FOUND', message));
  }

  return (request, response) => {
    route(request, response).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'request failed');
      if (!response.headersSent) response.writeHead(500).end();
    });
  };
}
