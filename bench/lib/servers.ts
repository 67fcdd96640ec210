import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@tenantcast/testkit';
import { register } from './cleanup.ts';
import { sleep } from './clock.ts';
import { RESULTS_DIR, ROOT } from './paths.ts';
import { readCpuMs, readRss } from './proc-stats.ts';

/** The secret of every benchmark server's tokens (a fresh one per run would do as well). */
export const BENCH_SECRET = 'bench-secret-0123456789abcdef-tenantcast';
export const KEY_PREFIX = 'bench:';

/** A product server (relay or gateway) in a process of its own, started as an operator would. */
export interface ServerProcess {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  rss(): number;
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Write a CPU profile (node --cpu-prof) to bench/results/profiles on exit. */
  profile?: boolean;
  /** Label for the log and profile files. */
  label: string;
  /** Another entry point than apps/<app>/src/main.ts (bench/experiments). */
  entry?: string;
  /** More node flags, e.g. --heapsnapshot-signal=SIGUSR2. */
  nodeFlags?: string[];
  /** Run the entry point of another checkout of tenantcast (`--baseline`) instead of this one. */
  root?: string;
}

function logFile(label: string): string {
  const dir = join(RESULTS_DIR, 'logs');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${label}.log`);
}

/** The last lines of a log file, for error messages. */
function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function waitHealthy(url: string, child: ChildProcess, log: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited with code ${child.exitCode}:\n${tail(log)}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`${url} did not answer /healthz within ${timeoutMs} ms:\n${tail(log)}`);
}

/**
 * Runs `node --import tsx apps/<app>/src/main.ts` with the environment an operator would set, and
 * waits for /healthz. Its output goes to bench/results/logs/<label>.log.
 */
export async function startServer(app: 'relay' | 'gateway', redisUrl: string, options: StartServerOptions): Promise<ServerProcess> {
  const entry = options.entry ?? `apps/${app}/src/main.ts`;
  const port = await freePort();
  const log = logFile(options.label);
  const fd = openSync(log, 'w');
  const flags: string[] = [...(options.nodeFlags ?? [])];
  if (options.profile) {
    // One directory per server: node writes a profile per thread (tsx's loader runs in a thread of its own).
    const dir = join(RESULTS_DIR, 'profiles', options.label);
    mkdirSync(dir, { recursive: true });
    flags.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    REDIS_URL: redisUrl,
    TENANTCAST_SECRET: BENCH_SECRET,
    REDIS_KEY_PREFIX: KEY_PREFIX,
    LOG_LEVEL: 'warn',
    SHUTDOWN_TIMEOUT_MS: '2000',
    // Metrics on a free port of their own (the bench reads none), so that servers side by side do not collide.
    ...(app === 'relay'
      ? // The benchmarks measure what a relay sustains, not the per-tenant limits (off here) that keep it fair.
        { RELAY_PORT: String(port), RELAY_HOST: '127.0.0.1', RELAY_METRICS_PORT: '0', RATE_LIMIT_EVENTS_PER_SECOND: '0' }
      : { GATEWAY_PORT: String(port), GATEWAY_HOST: '127.0.0.1', GATEWAY_METRICS_PORT: '0' }),
    ...options.env,
  };
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', entry], {
    cwd: options.root ?? ROOT,
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child, log, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: ServerProcess = {
    name: app,
    url,
    port,
    pid: child.pid!,
    rss: () => readRss(child.pid!),
    cpuMs: () => readCpuMs(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGTERM lets it shut down cleanly (and write its CPU profile); SIGKILL if it takes too long.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const unregister = register({ stop: () => server.stop(), kill: () => child.kill('SIGKILL') });
  child.once('exit', unregister);
  return server;
}
