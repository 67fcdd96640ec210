import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  redis: string;
  os: string;
  openFiles: string;
}

/** What the numbers were measured on. */
export function machine(): Machine {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const openFiles = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout ?? '';
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    redis: /v=(\S+)/.exec(redis)?.[1] ?? (redis.trim() || 'not found'),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    openFiles: openFiles.trim(),
  };
}

function cpuTimes(): { busy: number; total: number } {
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
 * How busy the machine is with work other than the benchmark's, sampled over `ms` while the
 * benchmark is idle: 0 is quiet, 1 is every core taken. Numbers measured on a busy machine are low.
 */
export async function backgroundLoad(ms = 1000): Promise<number> {
  const a = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTimes();
  return Math.round(((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 100) / 100;
}
