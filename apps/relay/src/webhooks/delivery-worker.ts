import { WebhookEventTypes } from '@tenantcast/sdk';
import type { RedisClient, StreamReader } from '@tenantcast/server';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RelayMetrics } from '../ops/metrics.ts';
import { DeliveryFailed, EndpointUnavailable, EventTrimmed, nextDelay, type Planned } from './attempt-outcome.ts';
import { AttemptRecorder } from './attempt-recorder.ts';
import { type DeliveryResult, deliver } from './deliver.ts';
import { DeliveryGates, postpone } from './delivery-gates.ts';
import { DELIVERY_QUEUE, type DeliveryJobData } from './delivery-job.ts';
import { type DeliveryLog, describeAttempt } from './delivery-log.ts';
import { disableGone, recordAttempt } from './endpoint-health.ts';
import { signingSecrets, type WebhookEndpoint, type WebhookStore } from './endpoint-store.ts';
import type { HostResolver } from './host-resolver.ts';
import { OutstandingDeliveries } from './outstanding.ts';
import type { SystemEvents } from './system-events.ts';

export interface DeliveryWorkerOptions {
  connection: RedisClient;
  prefix: string;
  webhooks: WebhookStore;
  /** Reads each job's event from its tenant's stream (jobs hold references, not events). */
  events: StreamReader;
  /** Where a job's delivery stops counting against its tenant once it finished for good. */
  outstanding: OutstandingDeliveries;
  /** Where a delivery exhausted, or an endpoint disabled, is told to the tenant's subscribers. */
  systemEvents: SystemEvents;
  /** Where each attempt, and where the delivery stands after it, is recorded for the delivery log API. */
  log: DeliveryLog;
  metrics: RelayMetrics;
  logger: Logger;
  /** Deliveries in flight in this process. */
  concurrency: number;
  /** Deliveries in flight per endpoint in this process; more are parked, so one slow endpoint cannot hold its tenant's slots. */
  endpointConcurrency: number;
  /** Deliveries in flight per tenant in this process; more are parked, so one tenant's slow endpoints cannot hold every slot. */
  tenantConcurrency: number;
  /**
   * How long a parked job waits at most before it goes back to the queue by itself, in ms: how soon
   * the jobs parked by a process that died run again. Default twice `lockMs`, as for a dead
   * process's jobs in flight.
   */
  parkMs?: number;
  /** Delay before each retry, in ms; attempts = its length + 1. */
  retrySchedule: number[];
  /** Retry 4xx answers other than 408, 410 and 429. */
  retry4xx: boolean;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Resolves endpoints' host names. */
  resolver: HostResolver;
  /** When an endpoint that keeps failing is left alone (circuit-breaker.ts). */
  circuit: { failures: number; cooldownMs: number; maxCooldownMs: number };
  /** BullMQ lockDuration and stalledInterval: how soon a dead worker's jobs are run again. */
  lockMs: number;
  /** Endpoint lifecycle: how long every attempt may fail before the endpoint is disabled (WEBHOOK_DISABLE_AFTER_SECONDS), in ms. */
  disableAfterMs: number;
}

/** A job's delivery counted against its tenant: the member in OutstandingDeliveries. */
function outstandingMember(data: DeliveryJobData): string {
  return OutstandingDeliveries.member(data.endpointId, data.offset, data.replay !== undefined);
}

/** A delivery worker, and how to stop it with its parked jobs put back in the queue. */
export interface DeliveryWorker {
  readonly worker: Worker<DeliveryJobData>;
  /** Puts the parked jobs back in the queue, then closes the worker (`force`: without waiting for deliveries in flight). */
  close(force?: boolean): Promise<void>;
}

/**
 * Runs deliveries: one signed POST per job. 2xx is done; 410 disables the endpoint; 429 and 503
 * wait for their Retry-After; other failures retry on the schedule, with jitter, until the last
 * attempt, after which the job stays failed (with the last status and body) for the dashboard.
 * Before an attempt a job passes the gates (delivery-gates.ts: a fair slot, a closed circuit); it
 * reads its event from the stream when it runs, and one trimmed meanwhile fails for good, saying
 * so; each attempt goes into the delivery log (attempt-recorder.ts).
 */
export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const attempts = options.retrySchedule.length + 1;
  const gates = new DeliveryGates({
    perTenant: options.tenantConcurrency,
    perEndpoint: options.endpointConcurrency,
    circuit: { ...options.circuit, probeMs: options.timeoutMs + 1000 },
    parkMs: options.parkMs ?? 2 * options.lockMs,
    metrics: options.metrics,
    logger: options.logger,
  });
  const recorder = new AttemptRecorder(options.log, options.logger, options.retrySchedule);

  async function process(job: Job<DeliveryJobData>, token?: string): Promise<{ status: number }> {
    const { tenantid, endpointId } = job.data;
    let endpoint: WebhookEndpoint | undefined;
    let body: string;
    try {
      endpoint = await options.webhooks.get(tenantid, endpointId);
      body = endpoint === undefined || endpoint.disabled ? '' : await eventOf(options.events, job);
    } catch (error) {
      if (error instanceof UnrecoverableError || token === undefined) throw error;
      // Redis, not the endpoint, failed (a failover, an outage past the command timeout): the
      // attempts are the endpoint's, so try again soon without spending one.
      options.logger.warn({ err: error, job: job.id }, 'endpoint or event lookup failed; delivery postponed');
      return postpone(job, token, 1000);
    }
    if (endpoint === undefined) throw new EndpointUnavailable(`Endpoint ${endpointId} was deleted.`);
    if (endpoint.disabled) throw new EndpointUnavailable(`Endpoint ${endpointId} is disabled: ${endpoint.disabledReason ?? ''}`);

    const pass = await gates.enter(job, token);
    let result: DeliveryResult | undefined;
    try {
      result = await deliver({
        url: endpoint.url,
        secrets: signingSecrets(endpoint, Date.now()),
        webhookId: job.data.webhookId,
        body,
        timeoutMs: options.timeoutMs,
        allowPrivate: options.allowPrivate,
        resolver: options.resolver,
      });
    } finally {
      gates.leave(job, pass, result);
    }
    options.metrics.deliverySeconds.observe(result.durationMs / 1000);
    // Endpoint lifecycle: the auto-disable clock (a 410 disables on its own, in `outcome`).
    if (result.status !== 410) await recordAttempt(options, endpoint, result.status >= 200 && result.status < 300, job.data.webhookId);
    const answered = result;
    return recorder.around(job, answered, attempts, () => outcome(options, job, answered));
  }

  const worker = new Worker<DeliveryJobData>(DELIVERY_QUEUE, process, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    settings: {
      // The delay the log announced as nextAttemptAt, where the recorder planned one.
      backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
        (error as Planned | undefined)?.delayMs ??
        nextDelay(options.retrySchedule, attemptsMade, (error as DeliveryFailed | undefined)?.retryAfterMs),
    },
  });
  watchOutcomes(worker, options, recorder, attempts);
  return {
    worker,
    async close(force = false) {
      await gates.drain();
      await worker.close(force);
    },
  };
}

/** The event a job delivers: read from the stream (or carried, by jobs queued before references). */
async function eventOf(events: StreamReader, job: Job<DeliveryJobData>): Promise<string> {
  const { tenantid, offset } = job.data;
  const json = job.data.event ?? (await events.entry(tenantid, offset));
  // The log's words, one line: retention (STREAM_MAX_LEN, STREAM_MAX_AGE_SECONDS) took it.
  if (json === undefined) throw new EventTrimmed('event trimmed before delivery');
  return json;
}

/** What an answer means for the job: done, failed for good, or retried. */
async function outcome(options: DeliveryWorkerOptions, job: Job<DeliveryJobData>, result: DeliveryResult): Promise<{ status: number }> {
  const { status } = result;
  if (status >= 200 && status < 300) return { status };
  const message = describeAttempt(result);
  await job.log(`attempt ${job.attemptsMade + 1}: ${message}`).catch(() => {});
  if (result.permanent) throw new UnrecoverableError(message);
  if (status === 410) {
    // Endpoint lifecycle: disabled with reason `gone`, told once.
    await disableGone(options, job.data.tenantid, job.data.endpointId, job.data.webhookId);
    throw new UnrecoverableError(`${message} (the endpoint is now disabled)`);
  }
  const retryable = status === 0 || status >= 500 || status === 408 || status === 429 || options.retry4xx;
  if (!retryable) throw new UnrecoverableError(message);
  const honoured = status === 429 || status === 503 ? result.retryAfterMs : undefined;
  throw new DeliveryFailed(message, honoured);
}

/** Counts each job's end, uncounts a finished one from its tenant's outstanding, and tells the tenant of one exhausted. */
function watchOutcomes(worker: Worker<DeliveryJobData>, options: DeliveryWorkerOptions, recorder: AttemptRecorder, attempts: number): void {
  const finished = (data: DeliveryJobData) =>
    void options.outstanding.remove(data.tenantid, [outstandingMember(data)]).catch((error) => {
      // Not fatal: the member stops counting at its deadline.
      options.logger.warn({ err: error }, 'could not uncount a finished delivery');
    });
  worker.on('completed', (job) => {
    options.metrics.deliveries.inc({ result: 'succeeded' });
    finished(job.data);
  });
  worker.on('failed', (job, error) => {
    if (job === undefined || error instanceof DelayedError) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? attempts);
    options.metrics.deliveries.inc({ result: error instanceof EventTrimmed ? 'expired' : final ? 'failed' : 'retrying' });
    if (!final) return;
    finished(job.data);
    const reason = error.message.split('\n', 1)[0]!.slice(0, 300);
    recorder.failedForGood(job, error, reason);
    if (error instanceof EndpointUnavailable) return;
    void options.systemEvents.emit(job.data.tenantid, WebhookEventTypes.exhausted, {
      endpointId: job.data.endpointId,
      deliveryId: job.data.webhookId,
      reason,
    });
    options.logger.warn({ job: job.id, endpoint: job.data.endpointId, reason: error.message }, 'webhook delivery failed for good');
  });
  worker.on('error', (error) => options.logger.warn({ err: error }, 'delivery worker error'));
}
