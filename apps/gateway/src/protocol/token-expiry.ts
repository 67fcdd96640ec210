/**
 * The longest delay `setTimeout` takes: 2^31 − 1 ms, about 24.8 days. A longer one overflows and
 * fires after 1 ms (Node warns `TimeoutOverflowWarning`), so a longer wait is made of several.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long to wait before looking at a token's expiry again: the time left until `exp` (seconds
 * since the epoch), at most `MAX_TIMER_MS`; 0 once it has expired (jose's rule, to the second: expired
 * when `exp <= now`).
 */
export function nextExpiryWait(exp: number, nowMs: number): number {
  return Math.min(Math.max(0, exp * 1000 - nowMs), MAX_TIMER_MS);
}

/** A pending expiry, to cancel when the connection closes first. */
export interface ExpiryTimer {
  cancel(): void;
}

/**
 * Calls `onExpired` once `exp` has passed, however far ahead it is: a wait longer than a timer holds
 * is re-armed, step by step, until `exp` is reached, and a timer that fires early (timers run on a
 * monotonic clock, `exp` is wall-clock time) waits again. Always asynchronously; never for a token
 * without `exp`.
 */
export function onTokenExpiry(exp: number | undefined, onExpired: () => void): ExpiryTimer {
  if (exp === undefined) return { cancel() {} };
  let timer: NodeJS.Timeout;
  const check = (): void => {
    const wait = nextExpiryWait(exp, Date.now());
    if (wait === 0) onExpired();
    else timer = setTimeout(check, wait);
  };
  timer = setTimeout(check, nextExpiryWait(exp, Date.now()));
  return { cancel: () => clearTimeout(timer) };
}

/**
 * When to warn of `exp` (seconds since the epoch, as a possibly fractional time): `warningSeconds`
 * before it, but at most half of what is left at `nowMs`, so that a short-lived token is warned of
 * halfway through its life rather than at once, and its client has the other half to refresh.
 */
export function warningTime(exp: number, nowMs: number, warningSeconds: number): number {
  const left = Math.max(0, exp - nowMs / 1000);
  return exp - Math.min(warningSeconds, left / 2);
}

/**
 * A connection's token lifetime: `onExpired` once its `exp` passes and, when `onWarning` is given
 * (multiplexed mode: plain mode sends CloudEvents only), `onWarning` shortly before (`warningTime`).
 * A refresh moves it to the new token's `exp`; a refresh with the same `exp` changes nothing, so
 * that a client handed back the same token is not warned again and again.
 */
export class TokenLifetime {
  readonly #onExpired: () => void;
  readonly #warning: { seconds: number; onWarning(exp: number): void } | undefined;
  #exp: number | undefined;
  #timers: ExpiryTimer[] = [];

  constructor(onExpired: () => void, warning?: { seconds: number; onWarning(exp: number): void }) {
    this.#onExpired = onExpired;
    this.#warning = warning;
  }

  /** Watches `exp` (none: the token never expires) instead of what was watched before. */
  watch(exp: number | undefined): void {
    if (exp === this.#exp && this.#timers.length > 0) return;
    this.cancel();
    this.#exp = exp;
    if (exp === undefined) return;
    const warning = this.#warning;
    if (warning !== undefined) {
      this.#timers.push(onTokenExpiry(warningTime(exp, Date.now(), warning.seconds), () => warning.onWarning(exp)));
    }
    this.#timers.push(onTokenExpiry(exp, this.#onExpired));
  }

  /** Stops watching: the connection closed. */
  cancel(): void {
    for (const timer of this.#timers) timer.cancel();
    this.#timers = [];
  }
}
