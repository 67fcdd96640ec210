export interface BreakerOptions {
  /** Failed attempts in a row (no answer, 5xx, 408) after which an endpoint is left alone. */
  failures: number;
  /** How long it is left alone the first time, in ms; doubled after each failed probe. */
  cooldownMs: number;
  /** The longest cooldown, in ms. */
  maxCooldownMs: number;
  /** How long a probe may take, in ms: jobs that arrive meanwhile wait this long. */
  probeMs: number;
}

interface Circuit {
  /** Failed attempts in a row. */
  failures: number;
  /** While open: until when, in ms since the epoch. */
  openUntil: number;
  cooldownMs: number;
  /** When the probe in flight (the one attempt let through after a cooldown) started; 0 for none. A probe that never reports (its job went elsewhere) stops counting after `probeMs`. */
  probingSince: number;
}

/** What the breaker says about an attempt: go (`probe` when it is the one after a cooldown), or wait `ms`. */
export type BreakerVerdict = { go: true; probe: boolean } | { go: false; ms: number };

/**
 * A circuit breaker per endpoint, in this process. An endpoint that failed `failures` attempts in a
 * row (no answer within the timeout, a refused connection, 5xx, 408) is left alone for a cooldown:
 * its jobs wait without being attempted and without spending attempts, so that a dead endpoint
 * neither holds its tenant's slots for a timeout per job nor runs through its jobs' retries in
 * minutes. After the cooldown one attempt probes it: a success closes the circuit, a failure opens
 * it again for twice as long (up to `maxCooldownMs`). Answers that ask to wait (429, 503 with
 * Retry-After) and other 4xx say the endpoint is up, and do not count.
 */
export class CircuitBreakers {
  readonly #options: BreakerOptions;
  readonly #circuits = new Map<string, Circuit>();

  constructor(options: BreakerOptions) {
    this.#options = options;
  }

  /** Whether an attempt to `endpoint` may go now. */
  check(endpoint: string, now = Date.now()): BreakerVerdict {
    const circuit = this.#circuits.get(endpoint);
    if (circuit === undefined || circuit.failures < this.#options.failures) return { go: true, probe: false };
    if (now < circuit.openUntil) return { go: false, ms: circuit.openUntil - now };
    if (now - circuit.probingSince < this.#options.probeMs) return { go: false, ms: circuit.probingSince + this.#options.probeMs - now };
    circuit.probingSince = now;
    return { go: true, probe: true };
  }

  /**
   * Records an attempt's outcome: `up` (an answer that shows the endpoint works), `down` (no answer,
   * 5xx, 408), or `neutral` (the endpoint answered but the delivery is not done: 429, other 4xx).
   * Returns `opened` when this outcome opened the circuit, for the log.
   */
  record(endpoint: string, outcome: 'up' | 'down' | 'neutral', probe: boolean, now = Date.now()): 'opened' | 'closed' | undefined {
    const circuit = this.#circuits.get(endpoint);
    if (outcome !== 'down') {
      if (circuit === undefined) return undefined;
      this.#circuits.delete(endpoint);
      return circuit.failures >= this.#options.failures ? 'closed' : undefined;
    }
    if (circuit === undefined) {
      this.#circuits.set(endpoint, { failures: 1, openUntil: 0, cooldownMs: this.#options.cooldownMs, probingSince: 0 });
      return this.#open(this.#circuits.get(endpoint)!, now);
    }
    circuit.failures++;
    if (probe) {
      circuit.probingSince = 0;
      circuit.cooldownMs = Math.min(this.#options.maxCooldownMs, circuit.cooldownMs * 2);
    }
    return this.#open(circuit, now);
  }

  #open(circuit: Circuit, now: number): 'opened' | undefined {
    if (circuit.failures < this.#options.failures || circuit.openUntil > now) return undefined;
    circuit.openUntil = now + circuit.cooldownMs;
    return 'opened';
  }
}
