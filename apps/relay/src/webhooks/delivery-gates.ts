import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RelayMetrics } from '../ops/metrics.ts';
import { endpointHealth, jitter } from './attempt-outcome.ts';
import { type BreakerOptions, CircuitBreakers } from './circuit-breaker.ts';
import type { DeliveryResult } from './deliver.ts';
import type { DeliveryJobData } from './delivery-job.ts';
import { FairSlots, type Parked, type SlotLimits } from './fair-slots.ts';

/** How soon jobs parked here are woken when their tenant has nothing in flight here, in ms. */
const STRANDED_WAKE_MS = 250;

/** Runs the job again in `ms` without counting an attempt: the endpoint was not tried. */
export async function postpone(job: Job<DeliveryJobData>, token: string, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

/** A job let through the gates: whether it holds a slot, and whether it is its endpoint's probe. */
export interface Pass {
  took: boolean;
  probe: boolean;
}

export interface GateOptions extends SlotLimits {
  circuit: BreakerOptions;
  /** How long a parked job waits at most before it goes back to the queue by itself, in ms. */
  parkMs: number;
  metrics: Pick<RelayMetrics, 'circuitsOpened'>;
  logger: Logger;
}

/**
 * What a job passes before its attempt, in this process: a slot of its tenant and its endpoint
 * (fair-slots.ts; otherwise it is parked until one frees) and its endpoint's circuit (circuit-breaker.ts;
 * otherwise it waits out the cooldown). Neither wait counts an attempt.
 */
export class DeliveryGates {
  readonly #slots: FairSlots;
  readonly #breakers: CircuitBreakers;
  readonly #options: GateOptions;

  constructor(options: GateOptions) {
    this.#options = options;
    this.#slots = new FairSlots(options);
    this.#breakers = new CircuitBreakers(options.circuit);
  }

  /** Lets the job through, or parks or postpones it (throwing BullMQ's DelayedError). Without a token (a job run by hand) it always goes. */
  async enter(job: Job<DeliveryJobData>, token: string | undefined): Promise<Pass> {
    const { tenantid, endpointId } = job.data;
    const took = this.#slots.take(tenantid, endpointId);
    if (!took && token !== undefined) {
      await job.moveToDelayed(Date.now() + this.#options.parkMs, token);
      this.#wake(this.#slots.park(tenantid, endpointId, { wake: () => job.promote() }));
      this.#watchStranded(tenantid);
      throw new DelayedError();
    }
    const verdict = this.#breakers.check(endpointId);
    if (!verdict.go && token !== undefined) {
      // The endpoint kept failing: wait out its cooldown, and leave the slot to others.
      if (took) this.#wake(this.#slots.release(tenantid, endpointId));
      this.#watchStranded(tenantid);
      return postpone(job, token, jitter(verdict.ms));
    }
    return { took, probe: verdict.go && verdict.probe };
  }

  /** After the attempt: frees the slot (waking a parked job of the tenant) and tells the breaker how the endpoint did. */
  leave(job: Job<DeliveryJobData>, pass: Pass, result: DeliveryResult | undefined): void {
    const { tenantid, endpointId } = job.data;
    if (pass.took) this.#wake(this.#slots.release(tenantid, endpointId));
    this.#watchStranded(tenantid);
    if (result === undefined) return;
    const circuit = this.#breakers.record(endpointId, endpointHealth(result), pass.probe);
    if (circuit === 'opened') {
      this.#options.metrics.circuitsOpened.inc();
      this.#options.logger.warn(
        { tenant: tenantid, endpoint: endpointId, reason: result.snippet.slice(0, 200) },
        'endpoint keeps failing; its deliveries wait for a cooldown',
      );
    } else if (circuit === 'closed') {
      this.#options.logger.info({ tenant: tenantid, endpoint: endpointId }, 'endpoint answers again; its deliveries go on');
    }
  }

  #strandedTimer: NodeJS.Timeout | undefined;

  /**
   * Wakes, every STRANDED_WAKE_MS, the jobs parked here of tenants with nothing in flight here: the
   * jobs this process's releases woke may have been taken by another delivery process, and parked
   * jobs would otherwise wait for `parkMs` (a minute by default). A woken job that finds no slot where
   * it lands is parked there again; the timer stops once no tenant is stranded here. A tenant becomes
   * stranded only where its own jobs park or leave, so only that tenant is checked there (a delivery
   * costs no scan of every tenant); the timer's round scans them all.
   */
  #watchStranded(tenant: string): void {
    if (this.#strandedTimer !== undefined || !this.#slots.isStranded(tenant)) return;
    this.#armStrandedTimer();
  }

  #armStrandedTimer(): void {
    this.#strandedTimer = setTimeout(() => {
      this.#strandedTimer = undefined;
      const stranded = this.#slots.stranded();
      for (const tenant of stranded) for (const parked of this.#slots.wakeable(tenant)) this.#wake(parked);
      if (this.#slots.stranded().length > 0) this.#armStrandedTimer();
    }, STRANDED_WAKE_MS);
    this.#strandedTimer.unref();
  }

  /** Puts every parked job back in the queue: the process stops. */
  async drain(): Promise<void> {
    clearTimeout(this.#strandedTimer);
    this.#strandedTimer = undefined;
    await Promise.all(this.#slots.drain().map((parked) => parked.wake().catch(() => {})));
  }

  /** Puts a parked job back in the queue; one that left the delayed set by itself meanwhile is left alone. */
  #wake(parked: Parked | undefined): void {
    void parked?.wake().catch(() => {});
  }
}
