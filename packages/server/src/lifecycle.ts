import { ConfigError } from './config.ts';

/** The part of a logger shutdown uses. */
export interface StepLogger {
  error(object: object, message: string): void;
}

/** Where a server is in its life, as ws's servers are: built, serving, shutting down, stopped. */
export type LifecycleState = 'created' | 'running' | 'closing' | 'closed';

/** A named shutdown step. */
export type Step = readonly [string, () => Promise<unknown>];

/**
 * The life of a server, shared by the relay, the gateway and the delivery process: `start()` once,
 * then `close(steps)` runs the shutdown steps in order, each on its own (one failing does not skip
 * the rest), and returns the same promise to every caller, as BullMQ's `close()` does.
 */
export class Lifecycle {
  readonly #name: string;
  readonly #logger: StepLogger;
  #state: LifecycleState = 'created';
  #closing: Promise<void> | undefined;

  /** `name` is the server's, for messages ("Relay"). */
  constructor(name: string, logger: StepLogger) {
    this.#name = name;
    this.#logger = logger;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  /** Whether the server takes new work: it is running, not closing. */
  get running(): boolean {
    return this.#state === 'running';
  }

  /** Marks the server running; throws when it was started before. */
  start(): void {
    if (this.#state !== 'created')
      throw new Error(`${this.#name}.listen() called while ${this.#state}; create a new ${this.#name.toLowerCase()}.`);
    this.#state = 'running';
  }

  /** Runs `steps` once, in order; every later call returns the first call's promise. */
  close(steps: () => readonly Step[]): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      await runSteps(steps(), this.#logger);
      this.#state = 'closed';
    })();
    return this.#closing;
  }
}

/**
 * Runs shutdown steps in order; a failing step is logged and does not skip the steps after it
 * (STYLE.md, "Shutdown and backpressure").
 */
export async function runSteps(steps: readonly Step[], logger: StepLogger): Promise<void> {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (error) {
      logger.error({ err: error }, `shutdown step "${name}" failed`);
    }
  }
}

/** Resolves with `promise`, or after `ms` if that comes first; for steps that must not hold shutdown up. */
export function bounded<T>(promise: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  let timer: { unref?: () => void } | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms) as { unref?: () => void };
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer as never));
}

/** Loads a process's configuration; on a ConfigError prints it and exits 78 (EX_CONFIG). */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
}

/** On SIGTERM or SIGINT, runs `close` once, then exits 0 (or 1 if it failed). */
export function exitOnSignal(close: () => Promise<void>, log: (signal: string) => void): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log(signal);
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

// The second line is Redis Cluster's: no slot map yet, a failover in progress, a node gone.
const REDIS_DOWN = new RegExp(
  [
    "Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|MaxRetriesPerRequest|LOADING|READONLY|MASTERDOWN",
    "CLUSTERDOWN|TRYAGAIN|Cluster isn't ready|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections",
  ].join('|'),
);

/** Whether an ioredis error means Redis cannot be reached right now (a 503, not a 500). */
export function isRedisUnavailable(error: unknown): boolean {
  const e = error as { message?: unknown; name?: unknown } | null;
  return typeof e?.message === 'string' && (REDIS_DOWN.test(e.message) || e.name === 'MaxRetriesPerRequestError');
}
