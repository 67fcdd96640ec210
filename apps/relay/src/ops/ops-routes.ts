import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';

/** `/healthz` (the process is up), `/readyz` (Redis answers) and `/metrics` (Prometheus text). */
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

  app.get('/metrics', async (_request, reply) => {
    ctx.metrics.redisUp.set(ctx.redis.status === 'ready' ? 1 : 0);
    return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
