import { WebhookEventTypes } from '@tenantcast/sdk';
import type { RedisClient, StreamReader } from '@tenantcast/server';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { RelayMetrics } from '../ops/metrics.ts';
import { CircuitBreakers } from './circuit-breaker.ts';
import { deliver } from './deliver.ts';
import { DELIVERY_QUEUE, type DeliveryJobData } from './delivery-job.ts';
import { type AfterAttempt, attemptEntry, type DeliveryLog, describeAttempt } from './delivery-log.ts';
import { disableGone, recordAttempt } from './endpoint-health.ts';
import { signingSecrets, type WebhookStore } from './endpoint-store.ts';
import { FairSlots, type Parked } from './fair-slots.ts';
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

/** An error that planned the job's next attempt in this many ms (the backoff strategy takes it as is). */
type Planned = Error & { delayMs?: number };

/** A failed attempt: what the endpoint answered, and how long it asked us to wait. */
class DeliveryFailed extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined) {
    super(message);
    this.name = 'DeliveryFailed';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The event of a job is no longer stored: the delivery fails for good, and is counted as `expired`. */
class EventTrimmed extends UnrecoverableError {
  override name = 'EventTrimmed';
}

/** ±10% jitter, so that retries of one outage do not arrive together. */
function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
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
 * Slots are shared fairly across tenants and their endpoints (fair-slots.ts); a job reads its event
 * from the stream when it runs, and one trimmed meanwhile fails for good, saying so.
 */
export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const attempts = options.retrySchedule.length + 1;
  const slots = new FairSlots({ perTenant: options.tenantConcurrency, perEndpoint: options.endpointConcurrency });
  const breakers = new CircuitBreakers({ ...options.circuit, probeMs: options.timeoutMs + 1000 });
  const parkMs = options.parkMs ?? 2 * options.lockMs;

  /** Runs the job again in `ms` without counting an attempt: the endpoint was not tried. */
  async function later(job: Job<DeliveryJobData>, token: string, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError();
  }

  /** Puts a parked job back in the queue; one that left the delayed set by itself meanwhile is left alone. */
  const wake = (parked: Parked | undefined) => void parked?.wake().catch(() => {});

  /** Waits out of the queue until a slot of its tenant frees (or `parkMs`), without counting an attempt. */
  async function park(job: Job<DeliveryJobData>, token: string): Promise<never> {
    await job.moveToDelayed(Date.now() + parkMs, token);
    wake(slots.park(job.data.tenantid, job.data.endpointId, { wake: () => job.promote() }));
    throw new DelayedError();
  }

  /** The event a job delivers: read from the stream (or carried, by jobs queued before references). */
  async function eventOf(job: Job<DeliveryJobData>): Promise<string> {
    const { tenantid, offset } = job.data;
    const json = job.data.event ?? (await options.events.entry(tenantid, offset));
    if (json === undefined) {
      // The log's words, one line: retention (STREAM_MAX_LEN, STREAM_MAX_AGE_SECONDS) took it.
      throw new EventTrimmed('event trimmed before delivery');
    }
    return json;
  }

  async function process(job: Job<DeliveryJobData>, token?: string): Promise<{ status: number }> {
    const { tenantid, endpointId } = job.data;
    let endpoint: Awaited<ReturnType<WebhookStore['get']>>;
    let body: string;
    try {
      endpoint = await options.webhooks.get(tenantid, endpointId);
      body = endpoint === undefined || endpoint.disabled ? '' : await eventOf(job);
    } catch (error) {
      if (error instanceof UnrecoverableError || token === undefined) throw error;
      // Redis, not the endpoint, failed (a failover, an outage past the command timeout): the
      // attempts are the endpoint's, so try again soon without spending one.
      options.logger.warn({ err: error, job: job.id }, 'endpoint or event lookup failed; delivery postponed');
      return later(job, token, 1000);
    }
    if (endpoint === undefined) throw new UnrecoverableError(`Endpoint ${endpointId} was deleted.`);
    if (endpoint.disabled) throw new UnrecoverableError(`Endpoint ${endpointId} is disabled: ${endpoint.disabledReason ?? ''}`);

    const took = slots.take(tenantid, endpointId);
    if (!took && token !== undefined) return park(job, token);
    const verdict = breakers.check(endpointId);
    if (!verdict.go && token !== undefined) {
      // The endpoint kept failing: wait out its cooldown without an attempt, and leave the slot to others.
      if (took) wake(slots.release(tenantid, endpointId));
      return later(job, token, jitter(verdict.ms));
    }
    let result: Awaited<ReturnType<typeof deliver>>;
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
      if (took) wake(slots.release(tenantid, endpointId));
    }
    options.metrics.deliverySeconds.observe(result.durationMs / 1000);
    const status = result.status;
    // Endpoint lifecycle: the auto-disable clock (a 410 disables on its own, in `outcome`).
    if (status !== 410) await recordAttempt(options, endpoint, status >= 200 && status < 300, job.data.webhookId);
    const health =
      status === 0 || status >= 500 || status === 408 ? (result.permanent ? 'neutral' : 'down') : status < 300 ? 'up' : 'neutral';
    const circuit = breakers.record(endpointId, health, verdict.go && verdict.probe);
    if (circuit === 'opened') {
      options.metrics.circuitsOpened.inc();
      options.logger.warn(
        { tenant: tenantid, endpoint: endpointId, reason: result.snippet.slice(0, 200) },
        'endpoint keeps failing; its deliveries wait for a cooldown',
      );
    } else if (circuit === 'closed')
      options.logger.info({ tenant: tenantid, endpoint: endpointId }, 'endpoint answers again; its deliveries go on');
    return logged(job, result, () => outcome(job, result));
  }

  // ---- Delivery log (delivery-log.ts): each attempt, and where the delivery stands after it. ----
  /** Errors whose attempt is in the log already; the others are logged when the job fails for good. */
  const attemptLogged = new WeakSet<Error>();

  /** The delay before a job's next attempt: what the endpoint asked for, else the schedule's, with jitter. */
  function nextDelay(attemptsMade: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return retryAfterMs;
    const schedule = options.retrySchedule;
    return jitter(schedule[Math.min(attemptsMade - 1, schedule.length - 1)] ?? 0);
  }

  /** Records in the log an attempt, or a failure without one; a log that cannot be written is no reason to fail a delivery. */
  async function record(job: Job<DeliveryJobData>, result: Awaited<ReturnType<typeof deliver>> | undefined, after: AfterAttempt) {
    const { tenantid, endpointId, offset } = job.data;
    const attempt = result === undefined ? undefined : attemptEntry(result, after.status === 'succeeded' ? null : after.lastError);
    await options.log.attempt(tenantid, endpointId, offset, attempt, after).catch((error) => {
      options.logger.warn({ err: error, job: job.id }, 'could not record a delivery attempt in the log');
    });
  }

  /** Runs `decide` on an attempt's result, and logs the attempt with what was decided: done, failed for good, or retried when. */
  async function logged<T>(job: Job<DeliveryJobData>, result: Awaited<ReturnType<typeof deliver>>, decide: () => Promise<T>): Promise<T> {
    const lastStatus = result.status > 0 ? result.status : null;
    try {
      const value = await decide();
      await record(job, result, { status: 'succeeded', lastStatus, lastError: null });
      return value;
    } catch (error) {
      const planned = error as Planned;
      const lastError = describeAttempt(result);
      const final = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? attempts);
      if (final) await record(job, result, { status: 'failed', lastStatus, lastError });
      else {
        planned.delayMs = nextDelay(job.attemptsMade + 1, (error as DeliveryFailed).retryAfterMs);
        await record(job, result, { status: 'pending', lastStatus, lastError, nextAttemptAt: Date.now() + planned.delayMs });
      }
      attemptLogged.add(planned);
      throw error;
    }
  }
  // ---- end of the delivery log ----

  /** What an answer means for the job: done, failed for good, or retried. */
  async function outcome(job: Job<DeliveryJobData>, result: Awaited<ReturnType<typeof deliver>>): Promise<{ status: number }> {
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

  const worker = new Worker<DeliveryJobData>(DELIVERY_QUEUE, process, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    settings: {
      // The delay the log announced as nextAttemptAt, where `logged` planned one.
      backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
        (error as Planned | undefined)?.delayMs ?? nextDelay(attemptsMade, (error as DeliveryFailed | undefined)?.retryAfterMs),
    },
  });
  /** The job finished for good: it no longer counts against its tenant. */
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
    // Delivery log: a failure without an attempt (event trimmed, endpoint deleted or disabled).
    if (!attemptLogged.has(error))
      void record(job, undefined, { status: 'failed', lastStatus: null, lastError: error.message.split('\n', 1)[0]!.slice(0, 300) });
    void options.systemEvents.emit(job.data.tenantid, WebhookEventTypes.exhausted, {
      endpointId: job.data.endpointId,
      deliveryId: job.data.webhookId,
      reason: error.message.split('\n', 1)[0]!.slice(0, 300),
    });
    options.logger.warn({ job: job.id, endpoint: job.data.endpointId, reason: error.message }, 'webhook delivery failed for good');
  });
  worker.on('error', (error) => options.logger.warn({ err: error }, 'delivery worker error'));
  return {
    worker,
    async close(force = false) {
      await Promise.all(slots.drain().map((parked) => parked.wake().catch(() => {})));
      await worker.close(force);
    },
  };
}
