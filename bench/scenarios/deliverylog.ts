/**
 * (8) The webhook delivery log at size: one endpoint with 100,000 deliveries (10,000 of them
 * failed), written with the log's own writer in bulk (its `queued` batches, then one attempt per
 * delivery), then the read side timed: the first page of failed deliveries, a page deep in the
 * list (after following 20 cursors), and one delivery by id with its attempt log. The ceiling of a
 * read is one Redis round trip (PING) on the same connection: what any read must cost at least.
 * Also the write rate and the Redis memory per delivery.
 */
import { Redis } from 'ioredis';
import { DeliveryLog } from '../../apps/relay/src/webhooks/delivery-log.ts';
import { DeliveryLogReader } from '../../apps/relay/src/webhooks/delivery-log-reader.ts';
import { fmtCount } from '../lib/format.ts';
import { startRedis } from '../lib/redis.ts';
import { median, quantile } from '../lib/stats.ts';
import type { BenchContext, Row, Scenario } from '../lib/types.ts';

const TENANT = 'acme';
const ENDPOINT = 'wh_0123456789abcdef0123456789abcdef';

/** Times `fn` `count` times, one after the other; answers the sorted durations in ms. */
async function timed(count: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn(i);
    out.push(performance.now() - start);
  }
  return out.sort((a, b) => a - b);
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

export const deliverylog: Scenario = {
  id: 'deliverylog',
  title: 'Webhook delivery log: 100,000 deliveries of one endpoint',
  async run(ctx: BenchContext) {
    const size = ctx.quick ? 20_000 : 100_000;
    const server = await startRedis();
    const redis = new Redis(server.url);
    try {
      const log = new DeliveryLog(redis, 'bench:', { retentionSeconds: 7 * 24 * 3600, maxPerEndpoint: size });
      const reader = new DeliveryLogReader(redis, 'bench:');
      const offsets = Array.from({ length: size }, (_, n) => `${1_700_000_000_000 + Math.floor(n / 10)}-${n % 10}`);
      const before = await usedMemory(redis);

      ctx.log(`deliverylog: writing ${fmtCount(size)} deliveries`);
      const writeStart = performance.now();
      for (let i = 0; i < size; i += 1000) {
        await log.queued(
          TENANT,
          offsets
            .slice(i, i + 1000)
            .map((offset) => ({ endpointId: ENDPOINT, offset, eventId: `evt-${offset}`, eventType: 'com.qlik.app.reloaded' })),
        );
      }
      const queuedMs = performance.now() - writeStart;
      const attemptStart = performance.now();
      // One attempt each: every tenth fails (HTTP 500 with a body), the rest succeed. 500 in flight.
      for (let i = 0; i < size; i += 500) {
        await Promise.all(
          offsets.slice(i, i + 500).map((offset, j) => {
            const failed = (i + j) % 10 === 0;
            const body = failed ? 'upstream exploded: database is down' : '';
            const attempt = {
              at: new Date().toISOString(),
              status: failed ? 500 : 204,
              durationMs: 12,
              error: failed ? `HTTP 500: ${body}` : null,
              responseBody: body,
            };
            return log.attempt(
              TENANT,
              ENDPOINT,
              offset,
              attempt,
              failed
                ? { status: 'failed', lastStatus: 500, lastError: `HTTP 500: ${body}` }
                : { status: 'succeeded', lastStatus: 204, lastError: null },
            );
          }),
        );
      }
      const attemptMs = performance.now() - attemptStart;
      const perDelivery = ((await usedMemory(redis)) - before) / size;
      ctx.log(
        `deliverylog: queued ${fmtCount(size)} in ${queuedMs.toFixed(0)} ms, one attempt each in ${attemptMs.toFixed(0)} ms; ${perDelivery.toFixed(0)} B of Redis per delivery`,
      );

      const reps = ctx.quick ? 200 : 1000;
      const firstPage = await timed(reps, () => reader.page(TENANT, ENDPOINT, 'failed', 100));
      const first = await reader.page(TENANT, ENDPOINT, 'failed', 100);
      if (first.deliveries.length !== 100 || first.deliveries.some((d) => d.status !== 'failed'))
        throw new Error('deliverylog: the failed page is wrong');
      let cursor = first.next!;
      for (let i = 0; i < 20; i++) cursor = (await reader.page(TENANT, ENDPOINT, 'failed', 100, cursor)).next!;
      const deepPage = await timed(reps, () => reader.page(TENANT, ENDPOINT, 'failed', 100, cursor));
      const byId = await timed(reps, (i) => reader.get(TENANT, ENDPOINT, offsets[(i * 7919) % size]!));
      const one = await reader.get(TENANT, ENDPOINT, offsets[0]!);
      if (one?.attemptLog.length !== 1) throw new Error('deliverylog: the delivery by id has no attempt log');
      const ping = await timed(reps, () => redis.ping());
      const p50 = (sorted: number[]) => quantile(sorted, 0.5);
      ctx.log(
        `deliverylog: first failed page p50 ${p50(firstPage).toFixed(2)} ms, page 22 p50 ${p50(deepPage).toFixed(2)} ms, by id p50 ${p50(byId).toFixed(3)} ms, PING p50 ${p50(ping).toFixed(3)} ms`,
      );
      const row = (id: string, measure: string, sorted: number[]): Row => ({
        id,
        measure,
        unit: 'ms',
        tenantcast: p50(sorted),
        ceiling: p50(ping),
        ceilingName: 'one PING',
        ceilingRatio: p50(sorted) / p50(ping),
        text: { tenantcast: `${p50(sorted).toFixed(2)} ms (p99 ${quantile(sorted, 0.99).toFixed(2)})` },
      });
      const rows: Row[] = [
        row('deliverylog.failed-page', `list 100 failed of ${fmtCount(size)} deliveries, first page (p50)`, firstPage),
        row('deliverylog.deep-page', 'list 100 failed, the 22nd page by cursor (p50)', deepPage),
        row('deliverylog.by-id', 'one delivery by id, with its attempt log (p50)', byId),
        {
          id: 'deliverylog.write',
          measure: 'deliveries logged as pending/s (batches of 1,000)',
          unit: 'rate',
          tenantcast: (size / queuedMs) * 1000,
        },
        { id: 'deliverylog.memory', measure: 'Redis memory per logged delivery (one attempt)', unit: 'bytes', tenantcast: perDelivery },
      ];
      return {
        rows,
        details: { size, queuedMs, attemptMs, perDelivery, firstPage: median(firstPage), deepPage: median(deepPage), byId: median(byId) },
      };
    } finally {
      redis.disconnect();
      await server.stop();
    }
  },
};
