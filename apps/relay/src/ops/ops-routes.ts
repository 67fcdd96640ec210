import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';

/**
 * `/healthz` (the process is up) and `/readyz` (Redis answers). Metrics are not here: they are on
 * the metrics listener (RELAY_METRICS_PORT, loopback by default), apart from the public port.
 */
export function registerOpsRoutes(app: FastifyInstance, ctx: RelayContext, isClosing: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (isClosing()) return reply.code(503).send({ status: 'closing' });
    try {
      await ctx.redis.ping();
      ctx.metrics.redisUp.set(1);
      return { status: 'ready' };
    } catch (error) {
      ctx.metrics.redisUp.set(0);
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ status: 'redis unavailable', message: (error as Error).message });
    }
  });
}
