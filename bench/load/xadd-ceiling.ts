/**
 * Load process: the ingest ceiling. Raw ioredis pipelines of XADD (the relay's event JSON, the
 * relay's approximate MAXLEN) into the same Redis, several pipelines in flight, for a set time.
 */
import { Redis } from 'ioredis';
import { now } from '../lib/clock.ts';
import { benchEvent } from '../lib/events.ts';
import { serve } from '../lib/rpc.ts';

export interface XaddParams {
  stream: string;
  durationMs: number;
  /** XADDs per pipeline. */
  pipeline: number;
  inFlight: number;
}

const redis = new Redis(process.argv[2]!);

serve({
  async run(params: XaddParams) {
    const json = JSON.stringify(benchEvent('ingest', 'ceiling-0000000', 0));
    let events = 0;
    const startAt = now();
    const endAt = startAt + params.durationMs;
    const worker = async () => {
      while (now() < endAt) {
        const pipeline = redis.pipeline();
        for (let i = 0; i < params.pipeline; i++) pipeline.xadd(params.stream, 'MAXLEN', '~', 100_000, '*', 'e', json, 'p', '0-0');
        await pipeline.exec();
        if (now() <= endAt) events += params.pipeline;
      }
    };
    await Promise.all(Array.from({ length: params.inFlight }, worker));
    return { events, elapsedMs: params.durationMs };
  },
});
