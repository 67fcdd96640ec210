/**
 * (4) Memory: RSS per idle connection with 10,000 connections, for the gateway, the Socket.IO peer
 * and the bare ws server: (RSS with the clients connected and idle − RSS before any client) ÷ clients.
 * When the fan-out scenario ran in the same `pnpm bench`, its 10,000-client case measured this
 * already (before any event was sent) and is reported; otherwise the clients are connected here.
 */
import { TARGET_NAMES, type TargetKind } from '../lib/targets.ts';
import type { Row, Scenario } from '../lib/types.ts';
import { idleRss, type MemoryMeasurement, memoryMeasurements, selectedKinds, withClients } from './fanout.ts';

export const MEMORY_TARGET_BYTES = 8 * 1024;

export const memory: Scenario = {
  id: 'memory',
  title: 'Memory: RSS per idle connection at 10,000 connections',
  async run(ctx) {
    const clients = 10_000;
    const results: Partial<Record<TargetKind, MemoryMeasurement & { reused: boolean }>> = {};
    for (const kind of selectedKinds(ctx)) {
      const known = memoryMeasurements.get(kind);
      if (known !== undefined && known.clients >= clients * 0.99) {
        ctx.log(`memory ${kind}: measured by the fan-out scenario's 10,000-client case`);
        results[kind] = { ...known, reused: true };
        continue;
      }
      results[kind] = await withClients(
        ctx,
        kind,
        { id: 'memory', tenants: 1, clientsPerTenant: clients },
        async ({ target, connect, baselineRss }) => {
          const idle = await idleRss(() => target.rss(), ctx.quick ? 1000 : 3000);
          return {
            clients: connect.connected,
            baselineRss,
            idleRss: idle,
            perConnection: (idle - baselineRss) / connect.connected,
            reused: false,
          };
        },
      );
      ctx.log(`memory ${kind}: ${(results[kind]!.perConnection / 1024).toFixed(1)} KB per connection`);
    }
    const tc = results.tenantcast?.perConnection ?? Number.NaN;
    const peer = results.socketio?.perConnection ?? Number.NaN;
    const ceiling = results.ws?.perConnection ?? Number.NaN;
    const rows: Row[] = [
      {
        id: 'memory.idle-connection',
        measure: 'memory, RSS per idle connection at 10,000 connections',
        unit: 'bytes',
        tenantcast: tc,
        peer,
        ceiling,
        peerName: TARGET_NAMES.socketio,
        ceilingName: 'bare ws',
        peerRatio: tc / peer,
        ceilingRatio: tc / ceiling,
        target: '≤ 8 KB (8,192 B)',
        met: tc <= MEMORY_TARGET_BYTES,
      },
    ];
    const baseline = results['tenantcast-baseline'];
    if (baseline !== undefined) {
      rows.push({
        id: 'memory.idle-connection.baseline',
        measure: 'memory, RSS per idle connection at 10,000 connections, baseline (--baseline)',
        unit: 'bytes',
        tenantcast: baseline.perConnection,
        peer,
        ceiling,
        peerRatio: baseline.perConnection / peer,
        ceilingRatio: baseline.perConnection / ceiling,
      });
    }
    return { rows, details: { results } };
  },
};
