import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LifecycleState, ServiceError, toServiceError } from '@tenantcast/server';
import type { Logger } from 'pino';

/** What the ops routes read of the gateway. */
export interface OpsDeps {
  /** Where the gateway is in its life: it is ready only while running. */
  lifecycle: { readonly running: boolean; readonly state: LifecycleState };
  /** Whether the gateway's Redis connections (commands and subscriptions) are both ready. */
  redisReady(): boolean;
  /** The checks of an upgrade, for a plain GET on a WebSocket endpoint (`Handshake.probe`): throws the refusal. */
  probe(request: IncomingMessage, url: URL): Promise<void>;
  logger: Pick<Logger, 'error'>;
}

/**
 * What a page of any origin may read of the answers on WebSocket endpoints: the refusal, so that a
 * browser client learns why its upgrade was refused, and its Retry-After. `*` rather than the
 * page's Origin: no credentials are involved (the token is in the URL the page sent, never a
 * cookie), a page refused by the origin policy must read that refusal too, and the answer tells
 * the page nothing it could not learn by opening the WebSocket itself (Fetch standard, CORS protocol).
 */
const READABLE_ANYWHERE = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Retry-After' };

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

/** Answers with an error's JSON body and headers (Retry-After too); with its own status unless the route says another. */
function answerError(response: ServerResponse, error: ServiceError, status = error.status, headers: Record<string, string> = {}): void {
  const retryAfter: Record<string, string> = error.retryAfter === undefined ? {} : { 'retry-after': String(error.retryAfter) };
  json(response, status, error.toBody(), { ...retryAfter, ...error.headers, ...headers });
}

/**
 * The gateway's plain HTTP requests: `/healthz` (the process is up), `/readyz` (running, and Redis
 * answers); on a WebSocket endpoint (`/v1/*`), a GET gets the refusal its upgrade would get, or 426
 * when the upgrade would be accepted, readable from any origin; 404 elsewhere, `/metrics` too:
 * metrics name tenants and are served on the metrics listener only (GATEWAY_METRICS_PORT).
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
    if (path?.startsWith('/v1/')) {
      const target = request.url ?? '/';
      if ((request.method === 'GET' || request.method === 'HEAD') && URL.canParse(target, 'http://gateway')) {
        try {
          await deps.probe(request, new URL(target, 'http://gateway'));
        } catch (error) {
          const refusal = toServiceError(error);
          if (refusal.status >= 500) deps.logger.error({ err: error }, 'upgrade check failed');
          return answerError(response, refusal, refusal.status, READABLE_ANYWHERE);
        }
      }
      // 426 Upgrade Required (RFC 9110 §15.5.22), with the protocol to upgrade to.
      const error = new ServiceError('TC_ERR_BAD_REQUEST', 'This is a WebSocket endpoint: send an Upgrade request.', {
        headers: { upgrade: 'websocket' },
      });
      return answerError(response, error, 426, READABLE_ANYWHERE);
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
