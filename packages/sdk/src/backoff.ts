/** Exponential backoff settings. */
export interface BackoffOptions {
  /** First delay ceiling, in ms. Default 100. */
  baseMs?: number;
  /** Largest delay, in ms. Default 10,000. */
  maxMs?: number;
}

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(max, base·2^attempt)).
 * Full jitter spreads retries of many clients apart (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 100;
  const max = options.maxMs ?? 10_000;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * HTTP statuses worth retrying: a timeout (408), too early (425), a rate or connection limit (429),
 * and server or proxy failures (500, 502, 503, 504); any other 4xx needs a change from the caller.
 */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const CLOCK = '\\d{2}:\\d{2}:\\d{2}';
/** The GMT forms of HTTP-date (RFC 9110 §5.6.7): IMF-fixdate and the obsolete RFC 850 form. */
const HTTP_DATE_GMT = new RegExp(`^(?:${DAY}, \\d{2} ${MONTH} \\d{4}|${DAY}[a-z]{0,6}, \\d{2}-${MONTH}-\\d{2}) ${CLOCK} GMT$`);
/** The obsolete asctime form, which is GMT although it does not say so. */
const HTTP_DATE_ASCTIME = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${CLOCK} \\d{4}$`);

/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns ms, or
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Date.parse alone is lenient ("1.5" and "-1" are dates to it), so only the HTTP-date forms are read.
  let date = Number.NaN;
  if (HTTP_DATE_GMT.test(trimmed)) date = Date.parse(trimmed);
  else if (HTTP_DATE_ASCTIME.test(trimmed)) date = Date.parse(`${trimmed} GMT`);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
