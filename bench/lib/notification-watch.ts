import { Redis } from 'ioredis';
import { now } from './clock.ts';
import { publishTimeOf } from './events.ts';
import type { Samples } from './open-loop.ts';

/**
 * The `--hops` probe: a Redis subscriber to every tenant's live channel (`<prefix>{<tenant>}:live`,
 * docs/storage.md) that stamps each event's notification as it arrives, so that a run splits into
 * publish → notification (relay and Redis) and notification → client (gateway and client). It runs
 * in the publisher's process; Redis sends each notification to it as to the gateway, at about the
 * same moment. Off unless asked: it is one more subscriber for Redis to write to.
 */
export class NotificationWatch {
  samples: Samples | undefined;

  private constructor(redis: Redis) {
    redis.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => {
      const t = now();
      const samples = this.samples;
      if (samples === undefined) return;
      // `<prev>\n<offset> <json>\n…`: one line per event, each with its benchts.
      let at = message.indexOf(0x0a);
      while (at >= 0) {
        const next = message.indexOf(0x0a, at + 1);
        samples.add(t - publishTimeOf(message.subarray(at + 1, next < 0 ? message.length : next)));
        at = next;
      }
    });
  }

  static async start(redisUrl: string, keyPrefix: string): Promise<NotificationWatch> {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    await redis.psubscribe(`${keyPrefix}{*}:live`);
    return new NotificationWatch(redis);
  }
}
