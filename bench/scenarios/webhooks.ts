/**
 * (6) Webhook deliveries: signed POSTs per second from the relay (its embedded dispatcher and
 * BullMQ workers, default concurrency 50) to a local receiver that answers 204 at once, timed from
 * the first event stored to the last delivery received. One endpoint, so WEBHOOK_ENDPOINT_CONCURRENCY
 * is raised to the process's concurrency (50); otherwise one endpoint gets 4 at a time by design.
 * The ceiling is raw BullMQ: add and process as many empty jobs, same concurrency, same Redis.
 */
import { mintToken } from '@tenantcast/sdk/tokens';
import { fmtCount, fmtRate } from '../lib/format.ts';
import { startRedis } from '../lib/redis.ts';
import { Worker } from '../lib/rpc.ts';
import { BENCH_SECRET, KEY_PREFIX, startServer } from '../lib/servers.ts';
import { median } from '../lib/stats.ts';
import { type BenchContext, type Row, type Scenario, withCpu } from '../lib/types.ts';

export const webhooks: Scenario = {
  id: 'webhooks',
  title: 'Webhook deliveries/s vs raw BullMQ',
  async run(ctx: BenchContext) {
    const deliveries = ctx.quick ? 1000 : 5000;
    const redis = await startRedis();
    try {
      const relay = await startServer('relay', redis.url, {
        label: 'webhooks-relay',
        profile: ctx.profile,
        env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_CONCURRENCY: '50', WEBHOOK_ENDPOINT_CONCURRENCY: '50' },
      });
      const receiver = await Worker.start('webhook-receiver', 'bench/load/webhook-receiver.ts');
      const publisher = await Worker.start('publisher', 'bench/load/publisher.ts', { args: ['tenantcast', redis.url, KEY_PREFIX] });
      const tenant = 'hooks';
      const admin = await mintToken({ sub: 'bench', scope: 'admin', tenants: [tenant] }, BENCH_SECRET);
      const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.info as { port: number }).port}/hook` }),
      });
      if (res.status !== 201) throw new Error(`webhooks: creating the endpoint answered ${res.status}: ${await res.text()}`);
      // An endpoint gets events stored after it was created (in whole milliseconds).
      await new Promise((resolve) => setTimeout(resolve, 5));

      const measure = async (label: string, count: number) => {
        await receiver.call('arm', { expected: count });
        const { value, cpu } = await withCpu({ relay: relay.pid, redis: redis.pid, receiver: receiver.pid }, async () => {
          const published = await publisher.call<{ startAt: number }>('publish', {
            tenants: [tenant],
            perTenant: count,
            batch: 100,
            inFlight: 2,
            run: label,
          });
          const got = await receiver.call<{ received: number; distinct: number; lastAt: number; timedOut: boolean }>(
            'wait',
            { timeoutMs: 120_000 },
            150_000,
          );
          return { published, got };
        });
        const ms = value.got.lastAt - value.published.startAt;
        return { ...value.got, ms, perSecond: (value.got.received / ms) * 1000, cpu };
      };
      ctx.log(`webhooks: warm-up`);
      await measure('warm', Math.round(deliveries / 5));
      const runs = [];
      for (let i = 0; i < ctx.runs; i++) {
        const run = await measure(`run${i}`, deliveries);
        runs.push(run);
        ctx.log(
          `webhooks: run ${i + 1}/${ctx.runs}: ${fmtRate(run.perSecond)} (${fmtCount(run.received)} deliveries in ${run.ms.toFixed(0)} ms${run.timedOut ? ', TIMED OUT' : ''}; cpu ${JSON.stringify(run.cpu)})`,
        );
      }
      await publisher.stop();
      await receiver.stop();
      await relay.stop();

      const bull = await Worker.start('bullmq-raw', 'bench/load/bullmq-raw.ts', { args: [redis.url] });
      ctx.log('raw BullMQ: warm-up');
      await bull.call('run', { jobs: Math.round(deliveries / 5), concurrency: 50, name: 'warm' }, 150_000);
      const rawRuns = [];
      for (let i = 0; i < ctx.runs; i++) {
        const { value, cpu } = await withCpu({ bullmq: bull.pid, redis: redis.pid }, () =>
          bull.call<{ completed: number; ms: number }>('run', { jobs: deliveries, concurrency: 50, name: `run${i}` }, 150_000),
        );
        const perSecond = (value.completed / value.ms) * 1000;
        rawRuns.push({ ...value, perSecond, cpu });
        ctx.log(`raw BullMQ: run ${i + 1}/${ctx.runs}: ${fmtRate(perSecond)} (cpu ${JSON.stringify(cpu)})`);
      }
      await bull.stop();
      const tc = median(runs.map((r) => r.perSecond));
      const raw = median(rawRuns.map((r) => r.perSecond));
      const rows: Row[] = [
        {
          id: 'webhooks.deliveries',
          measure: 'webhook deliveries/s to a local receiver (1 endpoint)',
          unit: 'rate',
          tenantcast: tc,
          ceiling: raw,
          ceilingName: 'raw BullMQ, empty jobs',
          ceilingRatio: tc / raw,
        },
      ];
      return { rows, details: { deliveries, runs, rawRuns } };
    } finally {
      await redis.stop();
    }
  },
};
