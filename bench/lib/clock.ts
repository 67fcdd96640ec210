/**
 * Milliseconds on CLOCK_MONOTONIC (process.hrtime), which every process of the machine shares: a
 * timestamp taken in a publisher compares with one taken in a load generator.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
