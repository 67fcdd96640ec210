import { UnrecoverableError } from 'bullmq';

/** An error that planned the job's next attempt in this many ms (the backoff strategy takes it as is). */
export type Planned = Error & { delayMs?: number };

/** A failed attempt: what the endpoint answered, and how long it asked us to wait. */
export class DeliveryFailed extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined) {
    super(message);
    this.name = 'DeliveryFailed';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The event of a job is no longer stored: the delivery fails for good, and is counted as `expired`. */
export class EventTrimmed extends UnrecoverableError {
  override name = 'EventTrimmed';
}

/**
 * The job's endpoint was deleted or disabled before its attempt: the delivery fails for good, but is
 * no news to tell the tenant of (it deleted the endpoint, or was told it was disabled; an endpoint
 * enabled again catches up on these events).
 */
export class EndpointUnavailable extends UnrecoverableError {
  override name = 'EndpointUnavailable';
}

/** ±10% jitter, so that retries of one outage do not arrive together. */
export function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}

/** The delay before attempt `attemptsMade + 1`: what the endpoint asked for, else the schedule's, with jitter. */
export function nextDelay(schedule: readonly number[], attemptsMade: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  return jitter(schedule[Math.min(attemptsMade - 1, schedule.length - 1)] ?? 0);
}

/** What an attempt's status says of the endpoint, for its circuit breaker: up, down, or neither (it answered, but not yes). */
export function endpointHealth(result: { status: number; permanent?: boolean }): 'up' | 'down' | 'neutral' {
  const { status } = result;
  if (status === 0 || status >= 500 || status === 408) return result.permanent ? 'neutral' : 'down';
  return status < 300 ? 'up' : 'neutral';
}
