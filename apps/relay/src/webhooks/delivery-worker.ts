import type { RedisClient } from '@tenantcast/server';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RelayMetrics } from '../ops/metrics.ts';
import { deliver } from './deliver.ts';
import { DELIVERY_QUEUE, type DeliveryJobData } from './delivery-job.ts';
import type { WebhookStore } from './endpoint-store.ts';

export interface DeliveryWorkerOptions {
  connection: RedisClient;
  prefix: string;
  webhooks: WebhookStore;
  metrics: RelayMetrics;
  logger: Logger;
  /** Deliveries in flight in this process. */
  concurrency: number;
  /** Deliveries in flight per endpoint in this process; more wait, so one slow endpoint cannot hold every slot. */
  endpointConcurrency: number;
  /** Delay before each retry, in ms; attempts = its length + 1. */
  retrySchedule: number[];
  /** Retry 4xx answers other than 408, 410 and 429. */
  retry4xx: boolean;
  timeoutMs: number;
  allowPrivate: boolean;
  /** BullMQ lockDuration and stalledInterval: how soon a dead worker's jobs are run again. */
  lockMs: number;
}

/** A failed attempt: what the endpoint answered, and how long it asked us to wait. */
class DeliveryFailed extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined) {
    super(message);
    this.name = 'DeliveryFailed';
    this.retryAfterMs = retryAfterMs;
  }
}

/** ±10% jitter, so that retries of one outage do not arrive together. */
function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

/** How an answer reads for the dashboard: status and the start of the body. */
function describe(status: number, snippet: string): string {
  const text = snippet.replace(/\s+/g, ' ').trim().slice(0, 300);
  return status === 0 ? `no answer: ${text}` : `HTTP ${status}${text ? `: ${text}` : ''}`;
}

/**
 * Runs deliveries: one signed POST per job. 2xx is done; 410 disables the endpoint; 429 and 503
 * wait for their Retry-After; other failures retry on the schedule, with jitter, until the last
 * attempt, after which the job stays failed (with the last status and body) for the dashboard.
 */
export function createDeliveryWorker(options: DeliveryWorkerOptions): Worker<DeliveryJobData> {
  const inFlight = new Map<string, number>();
  const attempts = options.retrySchedule.length + 1;

  /** Runs the job again in `ms` without counting an attempt: the endpoint was not tried. */
  async function later(job: Job<DeliveryJobData>, token: string, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError();
  }

  async function process(job: Job<DeliveryJobData>, token?: string): Promise<{ status: number }> {
    const { tenantid, endpointId } = job.data;
    let endpoint: Awaited<ReturnType<WebhookStore['get']>>;
    try {
      endpoint = await options.webhooks.get(tenantid, endpointId);
    } catch (error) {
      // Redis, not the endpoint, failed (a failover, an outage past the command timeout): the
      // attempts are the endpoint's, so try again soon without spending one.
      if (token === undefined) throw error;
      options.logger.warn({ err: error, job: job.id }, 'endpoint lookup failed; delivery postponed');
      return later(job, token, 1000);
    }
    if (endpoint === undefined) throw new UnrecoverableError(`Endpoint ${endpointId} was deleted.`);
    if (endpoint.disabled) throw new UnrecoverableError(`Endpoint ${endpointId} is disabled: ${endpoint.disabledReason ?? ''}`);

    const busy = inFlight.get(endpointId) ?? 0;
    if (busy >= options.endpointConcurrency && token !== undefined) return later(job, token, 25 + Math.floor(Math.random() * 75));
    inFlight.set(endpointId, busy + 1);
    let result: Awaited<ReturnType<typeof deliver>>;
    try {
      result = await deliver({
        url: endpoint.url,
        secret: endpoint.secret,
        webhookId: job.data.webhookId,
        body: job.data.event,
        timeoutMs: options.timeoutMs,
        allowPrivate: options.allowPrivate,
      });
    } finally {
      const left = (inFlight.get(endpointId) ?? 1) - 1;
      if (left <= 0) inFlight.delete(endpointId);
      else inFlight.set(endpointId, left);
    }
    options.metrics.deliverySeconds.observe(result.durationMs / 1000);
    const { status } = result;
    if (status >= 200 && status < 300) return { status };
    const message = describe(status, result.snippet);
    await job.log(`attempt ${job.attemptsMade + 1}: ${message}`).catch(() => {});
    if (result.permanent) throw new UnrecoverableError(message);
    if (status === 410) {
      await options.webhooks.disable(tenantid, endpointId, `answered 410 Gone at ${new Date().toISOString()}`);
      throw new UnrecoverableError(`${message} (the endpoint is now disabled)`);
    }
    const retryable = status === 0 || status >= 500 || status === 408 || status === 429 || options.retry4xx;
    if (!retryable) throw new UnrecoverableError(message);
    const honoured = status === 429 || status === 503 ? result.retryAfterMs : undefined;
    throw new DeliveryFailed(message, honoured);
  }

  const worker = new Worker<DeliveryJobData>(DELIVERY_QUEUE, process, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) => {
        const asked = (error as DeliveryFailed | undefined)?.retryAfterMs;
        if (asked !== undefined) return asked;
        const schedule = options.retrySchedule;
        return jitter(schedule[Math.min(attemptsMade - 1, schedule.length - 1)] ?? 0);
      },
    },
  });
  worker.on('completed', () => options.metrics.deliveries.inc({ result: 'succeeded' }));
  worker.on('failed', (job, error) => {
    if (job === undefined || error instanceof DelayedError) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? attempts);
    options.metrics.deliveries.inc({ result: final ? 'failed' : 'retrying' });
    if (final)
      options.logger.warn({ job: job.id, endpoint: job.data.endpointId, reason: error.message }, 'webhook delivery failed for good');
  });
  worker.on('error', (error) => options.logger.warn({ err: error }, 'delivery worker error'));
  return worker;
}
