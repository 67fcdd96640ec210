/**
 * (5) Resume: time for a client that reconnects with after=<offset> to receive the 10,000 events
 * it missed, from its TCP connect to the last of them. The ceiling is a raw XRANGE of the same
 * 10,000 entries in pages of 1,000 (the gateway's GATEWAY_CATCH_UP_PAGE_SIZE) from a plain ioredis client.
 */
import { mintToken } from '@tenantcast/sdk/tokens';
import { fmtMs } from '../lib/format.ts';
import { startRedis } from '../lib/redis.ts';
import { Worker } from '../lib/rpc.ts';
import { BENCH_SECRET, KEY_PREFIX, startServer } from '../lib/servers.ts';
import { median } from '../lib/stats.ts';
import type { BenchContext, Row, Scenario } from '../lib/types.ts';
import type { PublishResult } from '../load/publisher.ts';

const MISSED = 10_000;

export const resume: Scenario = {
  id: 'resume',
  title: 'Resume: catch up 10,000 missed events with after=',
  async run(ctx: BenchContext) {
    const redis = await startRedis();
    try {
      const gateway = await startServer('gateway', redis.url, { label: 'resume-gateway', profile: ctx.profile });
      // With --baseline, the gateway of that checkout runs beside it, each run right after this one's.
      const baseline = ctx.baseline
        ? await startServer('gateway', redis.url, { label: 'resume-gateway-baseline', profile: ctx.profile, root: ctx.baseline })
        : undefined;
      const publisher = await Worker.start('publisher', 'bench/load/publisher.ts', { args: ['tenantcast', redis.url, KEY_PREFIX] });
      const client = await Worker.start('ws-clients', 'bench/load/ws-clients.ts');
      const tenant = 'resume';
      const first = await publisher.call<PublishResult>('publish', {
        tenants: [tenant],
        perTenant: 1,
        batch: 1,
        inFlight: 1,
        run: 'before',
      });
      const after = first.offsets![tenant]!;
      ctx.log(`resume: storing ${MISSED.toLocaleString('en-US')} events after ${after}`);
      await publisher.call('publish', { tenants: [tenant], perTenant: MISSED, batch: 100, inFlight: 2, run: 'missed' });
      const token = await mintToken({ sub: 'bench', scope: 'subscribe', tenants: [tenant] }, BENCH_SECRET);
      const urlOf = (base: string) => `${base.replace(/^http/, 'ws')}/v1/tenants/${tenant}/events?after=${after}&token=${token}`;
      const catchUp = (base = gateway.url) =>
        client.call<{ received: number; ms: number; upgradeMs: number; timedOut: boolean }>('catchUp', {
          url: urlOf(base),
          protocol: 'tenantcast',
          expected: MISSED,
          timeoutMs: 30_000,
        });
      const ceiling = () => publisher.call<{ ms: number; count: number }>('readAll', { tenant, after, pageSize: 1000, expected: MISSED });

      ctx.log('resume: warm-up');
      await catchUp();
      await ceiling();
      if (baseline) await catchUp(baseline.url);
      const runs = ctx.quick ? ctx.runs : Math.max(ctx.runs, 5);
      const gatewayRuns = [];
      const ceilingRuns = [];
      const baselineRuns = [];
      for (let i = 0; i < runs; i++) {
        const run = await catchUp();
        if (run.received < MISSED) throw new Error(`resume: only ${run.received} of ${MISSED} events arrived`);
        gatewayRuns.push(run);
        const raw = await ceiling();
        ceilingRuns.push(raw);
        const before = baseline ? await catchUp(baseline.url) : undefined;
        if (before) baselineRuns.push(before);
        ctx.log(
          `resume: run ${i + 1}/${runs}: ${fmtMs(run.ms)} (upgrade ${fmtMs(run.upgradeMs)}); raw XRANGE ${fmtMs(raw.ms)}${
            before ? `; baseline ${fmtMs(before.ms)}` : ''
          }`,
        );
      }
      const tc = median(gatewayRuns.map((r) => r.ms));
      const raw = median(ceilingRuns.map((r) => r.ms));
      const rows: Row[] = [
        {
          id: 'resume.10000',
          measure: 'resume: catch up 10,000 missed events (connect → last event)',
          unit: 'ms',
          tenantcast: tc,
          ceiling: raw,
          ceilingName: 'raw XRANGE, pages of 1,000',
          ceilingRatio: tc / raw,
          target: '< 250 ms',
          met: tc < 250,
        },
      ];
      if (baseline) {
        const ms = median(baselineRuns.map((r) => r.ms));
        rows.push({
          id: 'resume.10000.baseline',
          measure: 'resume, baseline (--baseline)',
          unit: 'ms',
          tenantcast: ms,
          ceiling: raw,
          ceilingRatio: ms / raw,
        });
        await baseline.stop();
      }
      await client.stop();
      await publisher.stop();
      await gateway.stop();
      return { rows, details: { missed: MISSED, runs: gatewayRuns, ceilingRuns, baselineRuns } };
    } finally {
      await redis.stop();
    }
  },
};
