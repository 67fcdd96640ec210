/**
 * The peer, node B: a Socket.IO server with no clients, as a relay would run it, that emits each
 * event to its tenant's room. The adapter appends it to the Redis stream, and node A delivers it.
 * It answers the same `publish` call as bench/load/publisher.ts, and `publishAtRate` as the latency
 * publishers do (open loop, each event stamped with the time it was due: bench/lib/open-loop.ts).
 */
import { Server } from 'socket.io';
import { now } from '../lib/clock.ts';
import { benchEvent } from '../lib/events.ts';
import { type OpenLoopParams, type OpenLoopResult, openLoop, Samples } from '../lib/open-loop.ts';
import { serve } from '../lib/rpc.ts';
import type { PublishParams, PublishResult } from '../load/publisher.ts';
import { peerAdapter, roomOf } from './socketio-common.ts';

const redisUrl = process.argv[2]!;
const io = new Server({ transports: ['websocket'], serveClient: false, adapter: peerAdapter(redisUrl) });

serve({
  async publish(params: PublishParams): Promise<PublishResult> {
    const startAt = now();
    let written = 0;
    for (let from = 0; from < params.perTenant; from += params.batch) {
      const count = Math.min(params.batch, params.perTenant - from);
      for (const tenant of params.tenants) {
        const t = params.stamp ? now() : 0;
        for (let i = 0; i < count; i++) io.to(roomOf(tenant)).emit('event', benchEvent(tenant, `${params.run}-${from + i}`, from + i, t));
        written += count;
        // Yield now and then, as a relay between requests would, so that the writes go out.
        if (written % (params.batch * params.inFlight) === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return { startAt, endAt: now(), events: written };
  },
  async publishAtRate(params: OpenLoopParams): Promise<OpenLoopResult> {
    const sendLag = new Samples(Math.round((params.eventsPerSecond * params.durationMs) / 1000));
    const { startAt, total } = await openLoop(params, (n, tenant, due) => {
      io.to(roomOf(tenant)).emit('event', benchEvent(tenant, `${params.run}-${n}`, n, due));
      sendLag.add(now() - due);
    });
    return { startAt, endAt: now(), events: total, answered: total, statuses: {}, sendLag: sendLag.values() };
  },
});
