/**
 * Load process: the webhook ceiling. Raw BullMQ in one process, as the relay runs its deliveries:
 * a Queue adds empty jobs in bulk (100 a call), a Worker with the relay's concurrency (50)
 * processes them with a no-op; timed from the first add to the last completion.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { now } from '../lib/clock.ts';
import { serve } from '../lib/rpc.ts';

const redisUrl = process.argv[2]!;

serve({
  async run(params: { jobs: number; concurrency: number; name: string }) {
    const queueConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(params.name, { connection: queueConnection, prefix: 'bench-raw' });
    let completed = 0;
    let lastAt = 0;
    let resolveDone: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const worker = new Worker(params.name, async () => {}, {
      connection: workerConnection,
      prefix: 'bench-raw',
      concurrency: params.concurrency,
    });
    worker.on('completed', () => {
      completed++;
      if (completed === params.jobs) {
        lastAt = now();
        resolveDone();
      }
    });
    await worker.waitUntilReady();
    const startAt = now();
    for (let from = 0; from < params.jobs; from += 100) {
      const count = Math.min(100, params.jobs - from);
      await queue.addBulk(
        Array.from({ length: count }, (_, i) => ({ name: 'job', data: {}, opts: { jobId: `${params.name}-${from + i}` } })),
      );
    }
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 120_000))]);
    const result = { completed, ms: (lastAt || now()) - startAt };
    await worker.close();
    await queue.close();
    queueConnection.disconnect();
    workerConnection.disconnect();
    return result;
  },
});
