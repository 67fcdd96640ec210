/**
 * Milliseconds on CLOCK_MONOTONIC (process.hrtime), which every process of the machine shares: a
 * timestamp taken in a publisher compares with one taken in a load generator.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits for a load process's "all arrived" signal: hands `arm` the function to call when it comes
 * (and undefined once the wait is over), and resolves with whether `timeoutMs` passed first.
 */
export function signalled(timeoutMs: number, arm: (signal: (() => void) | undefined) => void): Promise<{ timedOut: boolean }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      arm(undefined);
      resolve({ timedOut: true });
    }, timeoutMs);
    arm(() => {
      clearTimeout(timer);
      resolve({ timedOut: false });
    });
  });
}
