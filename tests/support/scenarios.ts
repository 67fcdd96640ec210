import { until as waitUntil } from '@tenantcast/testkit';

/** testkit's `until`, polling every 20 ms, with the longer default these suites need. */
export function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  return waitUntil(check, what, ms, 20);
}

/** Prints one figure of a run in a form the runner collects: `CHAOS-FIGURE <name> <value>`. */
export function figure(name: string, value: number | string): void {
  console.log(`CHAOS-FIGURE ${name} ${value}`);
}
