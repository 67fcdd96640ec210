import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { type DeliveryFailed, nextDelay, type Planned } from './attempt-outcome.ts';
import type { DeliveryResult } from './deliver.ts';
import type { DeliveryJobData } from './delivery-job.ts';
import { type AfterAttempt, attemptEntry, type DeliveryLog, describeAttempt } from './delivery-log.ts';

/**
 * Writes the worker's side of the delivery log (delivery-log.ts): each attempt, and where the
 * delivery stands after it (succeeded, failed for good, or pending until `nextAttemptAt`, the very
 * delay the backoff strategy then takes). A log that cannot be written is no reason to fail a delivery.
 */
export class AttemptRecorder {
  readonly #log: DeliveryLog;
  readonly #logger: Logger;
  readonly #schedule: readonly number[];
  /** Errors whose attempt is in the log already; the others are logged when the job fails for good. */
  readonly #logged = new WeakSet<Error>();

  constructor(log: DeliveryLog, logger: Logger, schedule: readonly number[]) {
    this.#log = log;
    this.#logger = logger;
    this.#schedule = schedule;
  }

  /** Records an attempt (`result`), or a failure without one. */
  async record(job: Job<DeliveryJobData>, result: DeliveryResult | undefined, after: AfterAttempt): Promise<void> {
    const { tenantid, endpointId, offset } = job.data;
    const attempt = result === undefined ? undefined : attemptEntry(result, after.status === 'succeeded' ? null : after.lastError);
    await this.#log.attempt(tenantid, endpointId, offset, attempt, after).catch((error) => {
      this.#logger.warn({ err: error, job: job.id }, 'could not record a delivery attempt in the log');
    });
  }

  /** Runs `decide` on an attempt's result, and logs the attempt with what was decided: done, failed for good, or retried when. */
  async around<T>(job: Job<DeliveryJobData>, result: DeliveryResult, attempts: number, decide: () => Promise<T>): Promise<T> {
    const lastStatus = result.status > 0 ? result.status : null;
    try {
      const value = await decide();
      await this.record(job, result, { status: 'succeeded', lastStatus, lastError: null });
      return value;
    } catch (error) {
      const planned = error as Planned;
      const lastError = describeAttempt(result);
      const final = error instanceof UnrecoverableError || job.attemptsMade + 1 >= attempts;
      if (final) await this.record(job, result, { status: 'failed', lastStatus, lastError });
      else {
        planned.delayMs = nextDelay(this.#schedule, job.attemptsMade + 1, (error as DeliveryFailed).retryAfterMs);
        await this.record(job, result, { status: 'pending', lastStatus, lastError, nextAttemptAt: Date.now() + planned.delayMs });
      }
      this.#logged.add(planned);
      throw error;
    }
  }

  /** A job failed for good: records the failure if no attempt did (event trimmed, endpoint deleted or disabled). */
  failedForGood(job: Job<DeliveryJobData>, error: Error, reason: string): void {
    if (!this.#logged.has(error)) void this.record(job, undefined, { status: 'failed', lastStatus: null, lastError: reason });
  }
}
