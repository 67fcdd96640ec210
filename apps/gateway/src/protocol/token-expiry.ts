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
