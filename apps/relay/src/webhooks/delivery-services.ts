import {
  bounded,
  closeRedis,
  createRedis,
  isCluster,
  type RedisClient,
  redisTarget,
  runSteps,
  type StreamAppender,
  StreamReader,
} from '@tenantcast/server';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { RelayConfig } from '../config.ts';
import type { RelayMetrics } from '../ops/metrics.ts';
import { DELIVERY_QUEUE, type DeliveryJobData, queuePrefix } from './delivery-job.ts';
import { DeliveryLog } from './delivery-log.ts';
import { createDeliveryWorker } from './delivery-worker.ts';
import { Dispatcher } from './dispatcher.ts';
import { WebhookStore } from './endpoint-store.ts';
import { HostResolver } from './host-resolver.ts';
import { OutstandingDeliveries } from './outstanding.ts';
import type { ReplayDeps } from './replay.ts';
import { SystemEvents } from './system-events.ts';

/** The delivery queue and, where this process runs them, the dispatcher and the workers. */
export interface DeliveryServices {
  queue: Queue<DeliveryJobData>;
  webhooks: WebhookStore;
  /** Each tenant's deliveries not yet finished (the cap of WEBHOOK_MAX_OUTSTANDING_PER_TENANT). */
  outstanding: OutstandingDeliveries;
  /** The delivery log's write side: each delivery's status and attempts, per endpoint (delivery-log.ts). */
  log: DeliveryLog;
  /** Appends `com.tenantcast.webhook.*` events to a tenant's stream. */
  systemEvents: SystemEvents;
  /** What a replay reads and writes (replay.ts): the replay route's, and an endpoint enabled again. */
  replay: ReplayDeps;
  /** Starts the dispatcher and the workers in this process. */
  startWorkers(): void;
  /** Stops the dispatcher, lets deliveries in flight finish, closes the workers and the queue, quits Redis. */
  close(): Promise<void>;
}

/** The delivery queue, on a connection of its own; jobs keep their attempts and how long they are kept. */
function createQueue(config: RelayConfig, connection: RedisClient, logger: Logger): Queue<DeliveryJobData> {
  const queue = new Queue<DeliveryJobData>(DELIVERY_QUEUE, {
    connection,
    prefix: queuePrefix(config.keyPrefix),
    skipWaitingForReady: true,
    defaultJobOptions: {
      attempts: config.webhookRetrySchedule.length + 1,
      backoff: { type: 'webhook' },
      // Delivered jobs go after an hour; failed ones stay a week, for the dashboard.
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  });
  queue.on('error', (error) => logger.warn({ err: error }, 'delivery queue error'));
  return queue;
}

/**
 * How long a delivery lasts at most: its retry schedule, an attempt's timeout per attempt, and
 * margin for waits the schedule does not show (Retry-After, a parked job, a worker down). Past that,
 * a count whose removal was lost (a worker killed at the wrong moment) stops counting by itself.
 */
function deliveryLifetimeMs(config: RelayConfig): number {
  const schedule = config.webhookRetrySchedule;
  return schedule.reduce((sum, ms) => sum + ms, 0) * 1.1 + (schedule.length + 1) * config.webhookTimeoutMs + 3_600_000;
}

/** What the worker and the dispatcher share with the API side. */
interface Shared {
  queue: Queue<DeliveryJobData>;
  webhooks: WebhookStore;
  outstanding: OutstandingDeliveries;
  log: DeliveryLog;
  systemEvents: SystemEvents;
}

/** The worker and the dispatcher of this process, on connections of their own. */
function startProcessing(config: RelayConfig, shared: Shared, logger: Logger, metrics: RelayMetrics) {
  const target = redisTarget(config);
  const { keyPrefix } = config;
  // Workers block on Redis and must retry for ever (BullMQ requires maxRetriesPerRequest: null).
  // The command timeout is above BullMQ's longest block (10 s). It settles a command stranded on
  // a connection ioredis gave up (a cluster node dropped from the slot map while reconnecting),
  // which would otherwise hold its job, whose lock the worker keeps renewing, for ever.
  const workerRedis = createRedis(target, logger, {
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: 30_000,
  });
  // Its reads block for at most a second: a reply later than this means a dead node, and the
  // dispatcher's loop retries instead of waiting on it for ever.
  const dispatchRedis = createRedis(target, logger, { lazyConnect: false, enableOfflineQueue: true, commandTimeout: 10_000 });
  const worker = createDeliveryWorker({
    connection: workerRedis,
    prefix: queuePrefix(keyPrefix),
    // Lookups wait on the worker's connection while Redis is away, instead of failing fast like a
    // request's: an outage must not use up the attempts meant for the endpoint.
    webhooks: new WebhookStore(workerRedis, keyPrefix),
    events: new StreamReader(workerRedis, { keyPrefix }),
    outstanding: new OutstandingDeliveries(workerRedis, keyPrefix, deliveryLifetimeMs(config)),
    systemEvents: shared.systemEvents,
    log: new DeliveryLog(workerRedis, keyPrefix, logOptions(config)),
    metrics,
    logger,
    concurrency: config.webhookConcurrency,
    endpointConcurrency: config.webhookEndpointConcurrency,
    tenantConcurrency: config.webhookTenantConcurrency,
    retrySchedule: config.webhookRetrySchedule,
    retry4xx: config.webhookRetry4xx,
    timeoutMs: config.webhookTimeoutMs,
    allowPrivate: config.webhookAllowPrivate,
    resolver: new HostResolver({ servers: config.webhookDnsServers, timeoutMs: config.webhookDnsTimeoutMs }),
    circuit: {
      failures: config.webhookCircuitFailures,
      cooldownMs: config.webhookCircuitCooldownMs,
      maxCooldownMs: Math.max(config.webhookCircuitCooldownMs, 600_000),
    },
    lockMs: config.webhookLockMs,
    disableAfterMs: config.webhookDisableAfterSeconds * 1000,
  });
  const dispatcher = new Dispatcher({
    redis: dispatchRedis,
    queue: shared.queue,
    webhooks: shared.webhooks,
    outstanding: shared.outstanding,
    log: shared.log,
    maxOutstanding: config.webhookMaxOutstandingPerTenant,
    logger,
    batch: 100,
    claimIdleMs: config.dispatchClaimIdleMs,
    cluster: isCluster(target),
  });
  dispatcher.start();
  return { worker, dispatcher, workerRedis, dispatchRedis };
}

function logOptions(config: RelayConfig) {
  return { retentionSeconds: config.webhookLogRetentionSeconds, maxPerEndpoint: config.webhookLogMaxPerEndpoint };
}

/** Builds the delivery side of the relay. Redis connections of its own: the queue's, and the worker's and dispatcher's where they run. */
export function createDeliveryServices(
  config: RelayConfig,
  redis: RedisClient,
  logger: Logger,
  metrics: RelayMetrics,
  appender: StreamAppender,
): DeliveryServices {
  // BullMQ sends INFO as soon as the queue exists, so its connection queues commands until it is up.
  const queueRedis = createRedis(redisTarget(config), logger, { lazyConnect: false, enableOfflineQueue: true });
  const queue = createQueue(config, queueRedis, logger);
  metrics.queueDepth.source = () => queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
  const shared: Shared = {
    queue,
    webhooks: new WebhookStore(redis, config.keyPrefix),
    outstanding: new OutstandingDeliveries(redis, config.keyPrefix, deliveryLifetimeMs(config)),
    log: new DeliveryLog(redis, config.keyPrefix, logOptions(config)),
    systemEvents: new SystemEvents(appender, logger),
  };
  const replay: ReplayDeps = {
    reader: new StreamReader(redis, { keyPrefix: config.keyPrefix }),
    queue,
    outstanding: shared.outstanding,
    log: shared.log,
    limits: { maxEvents: config.webhookReplayMaxEvents, maxOutstanding: config.webhookMaxOutstandingPerTenant },
  };
  let processing: ReturnType<typeof startProcessing> | undefined;
  let closing: Promise<void> | undefined;

  return {
    ...shared,
    replay,
    startWorkers() {
      processing ??= startProcessing(config, shared, logger, metrics);
    },
    close() {
      closing ??= (async () => {
        // Each step is bounded: with Redis gone, BullMQ's close would wait for it for ever.
        const limit = config.shutdownTimeoutMs;
        const { worker, dispatcher, workerRedis, dispatchRedis } = processing ?? {};
        await runSteps(
          [
            ['stop dispatcher', () => bounded(dispatcher?.stop(), limit)],
            // With Redis down, in-flight jobs cannot record their outcome anyway: close without waiting
            // for them (they stall, and are delivered again once Redis is back).
            ['close workers', () => bounded(worker?.close(workerRedis?.status !== 'ready'), limit)],
            ['close queue', () => bounded(queue.close(), limit)],
            [
              'quit Redis',
              () => Promise.all([queueRedis, workerRedis, dispatchRedis].map((r) => (r === undefined ? undefined : closeRedis(r)))),
            ],
          ],
          logger,
        );
      })();
      return closing;
    },
  };
}
