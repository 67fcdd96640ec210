import fastifyStatic from '@fastify/static';
import { ServiceError } from '@tenantcast/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RelayContext } from '../context.ts';
import { consoleDir, isBuilt } from './console-dir.ts';
import { cacheControlOf, consoleHeaders } from './console-headers.ts';
import { consoleBase, consoleGatewayUrl } from './console-origins.ts';

/** Where the tenant console is served. */
export const CONSOLE_PATH = '/console/';

/**
 * The tenant console: the built web app (apps/console/dist, or CONSOLE_DIR) at /console/, through
 * @fastify/static, and `GET /console/config.json`, which tells the page where the relay and the
 * gateway are. Every answer of the scope carries the console's security headers. The page's own
 * calls carry their token as Bearer, so the static files need no credential.
 */
export async function registerConsole(app: FastifyInstance, ctx: RelayContext): Promise<void> {
  const dir = consoleDir(ctx.config.consoleDir);
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request) => {
      if (request.routeOptions.url === `${CONSOLE_PATH}config.json` || isBuilt(dir)) return;
      throw new ServiceError(
        'TC_ERR_NOT_FOUND',
        `The console is not built: run "pnpm build" in the repository (it writes apps/console/dist), or point CONSOLE_DIR at a built console; looked in ${dir}.`,
      );
    });
    // On every answer of the scope, refusals included.
    scope.addHook('onSend', async (request, reply) => {
      reply.headers(consoleHeaders(gatewayOrSelf(ctx, request)));
    });

    // Relative, so that a proxy's path prefix is kept: /prefix/console → /prefix/console/.
    scope.get('/console', async (_request, reply) => reply.redirect('console/', 301));

    scope.get(`${CONSOLE_PATH}config.json`, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return { gatewayUrl: consoleGatewayUrl(ctx.config, request), relayUrl: consoleBase(ctx.config, request) };
    });

    await scope.register(fastifyStatic, {
      root: dir,
      prefix: CONSOLE_PATH,
      // The folder may be built after the relay starts; the onRequest check answers until then.
      suppressWarning: true,
      decorateReply: false,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: (reply, path) => reply.header('cache-control', cacheControlOf(path)),
    });
  });
}

/** The gateway URL for the CSP; for a request whose Host is not a host name (refused anyway), none. */
function gatewayOrSelf(ctx: RelayContext, request: FastifyRequest): string | undefined {
  try {
    return consoleGatewayUrl(ctx.config, request);
  } catch {
    return undefined;
  }
}
