import { ServiceError } from '@tenantcast/server';
import type { FastifyRequest } from 'fastify';
import type { RelayConfig } from '../config.ts';

/** The gateway's default port (apps/gateway/src/config.ts), where the console looks for it unless CONSOLE_GATEWAY_URL says. */
export const GATEWAY_DEFAULT_PORT = 8081;

type ConsoleSettings = Pick<RelayConfig, 'consoleUrl' | 'consoleGatewayUrl'>;

/**
 * The relay's base URL as the browser reaches it, without a trailing slash: CONSOLE_URL, else the
 * request's own origin (its protocol and Host header). Behind a proxy the Host may be the proxy's
 * upstream, hence the setting.
 */
export function consoleBase(config: ConsoleSettings, request: FastifyRequest): string {
  if (config.consoleUrl !== undefined) return config.consoleUrl.replace(/\/+$/, '');
  return requestOrigin(request).origin;
}

/** The gateway URL the console subscribes through: CONSOLE_GATEWAY_URL, else the relay's host name on the gateway's default port. */
export function consoleGatewayUrl(config: ConsoleSettings, request: FastifyRequest): string {
  if (config.consoleGatewayUrl !== undefined) return config.consoleGatewayUrl.replace(/\/+$/, '');
  const base = new URL(consoleBase(config, request));
  return `${base.protocol === 'https:' ? 'wss' : 'ws'}://${base.hostname}:${GATEWAY_DEFAULT_PORT}`;
}

function requestOrigin(request: FastifyRequest): URL {
  try {
    return new URL(`${request.protocol}://${request.host}`);
  } catch {
    throw new ServiceError(
      'TC_ERR_BAD_REQUEST',
      `The Host header "${String(request.host).slice(0, 100)}" is not a host name; send a valid one, or set CONSOLE_URL on the relay.`,
    );
  }
}
