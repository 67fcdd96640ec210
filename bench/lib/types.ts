import os from 'node:os';
import type { RedisServer } from '@tenantcast/testkit';
import { Redis } from 'ioredis';
import { readCpuMs } from './proc-stats.ts';

/** What every scenario gets from the orchestrator. */
export interface BenchContext {
  quick: boolean;
  /** Measured runs per case (after one warm-up); the median is quoted. */
  runs: number;
  /** Write CPU profiles of the servers under test to bench/results/profiles. */
  profile: boolean;
  /** Only these servers (fan-out, memory): tenantcast, socketio, ws. */
  targets?: string[];
  /** Only the cases whose id holds one of these strings (fan-out). */
  cases?: string[];
  /**
   * Another checkout of tenantcast (a directory with its dependencies installed, e.g. a `git
   * worktree` of an earlier commit): its gateway runs as the target `tenantcast-baseline`, back to
   * back with this one, for A/B comparisons (fan-out, resume).
   */
  baseline?: string;
  /** Latency: stamp each event's live notification too, to split publish → client into hops (a Redis subscriber in the publisher). */
  hops?: boolean;
  /** Progress output. */
  log(message: string): void;
}

export type Unit = 'rate' | 'ms' | 'bytes' | 'latency';

/** One line of the table. Ratios are tenantcast ÷ the other (for memory and time, lower is better). */
export interface Row {
  id: string;
  measure: string;
  unit: Unit;
  tenantcast: number | null;
  peer?: number | null;
  ceiling?: number | null;
  /** Overrides of the printed cells (latency prints p50 / p99 / p999). */
  text?: { tenantcast?: string; peer?: string; ceiling?: string; peerRatio?: string };
  peerRatio?: number | null;
  ceilingRatio?: number | null;
  peerName?: string;
  ceilingName?: string;
  target?: string;
  met?: boolean | null;
  /** Other work took more than a quarter of a core during some run of this scenario: the numbers are low. */
  disturbed?: boolean;
}

export interface ScenarioOutput {
  rows: Row[];
  details: Record<string, unknown>;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<ScenarioOutput>;
}

/** The process id of a Redis server, from INFO. */
export async function redisPid(redis: RedisServer): Promise<number> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    const info = await client.info('server');
    return Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    client.disconnect();
  }
}

/** The most CPU that other work took during a measured run since the orchestrator last reset it. */
export const otherLoad = { max: 0 };

/** Other work above this share of a core during a measured run marks a measure as disturbed. */
export const DISTURBED_CORES = 0.25;

function machineBusyMs(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

/**
 * Measures the CPU share (1.0 = one core) several processes use while `fn` runs, and `other`: what
 * the rest of the machine used meanwhile (the orchestrator, kernel work not charged to a process,
 * and any other work on the machine, which makes the numbers low).
 */
export async function withCpu<T>(pids: Record<string, number>, fn: () => Promise<T>): Promise<{ value: T; cpu: Record<string, number> }> {
  const start = performance.now();
  const machineBefore = machineBusyMs();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, readCpuMs(pid)]));
  const value = await fn();
  const elapsed = performance.now() - start;
  const machineAfter = machineBusyMs();
  const round = (x: number) => Math.round(x * 100) / 100;
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, round((readCpuMs(pid) - before[k]!) / elapsed)]));
  const ours = Object.values(cpu).reduce((a, b) => a + b, 0);
  cpu.other = round(Math.max(0, (machineAfter.busy - machineBefore.busy) / elapsed - ours));
  otherLoad.max = Math.max(otherLoad.max, cpu.other);
  return { value, cpu };
}
