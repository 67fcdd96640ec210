import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, sleep, TSX_NODE_ARGS } from '@tenantcast/testkit';

/** The repository's root. */
export const root = join(import.meta.dirname, '..', '..');

/** A spawned app process, for scenarios that signal or kill the process itself. */
export interface AppProcess {
  url: string;
  port: number;
  /** Base URL of its metrics listener (GET /metrics), on a free port of 127.0.0.1. */
  metricsUrl: string;
  child: ChildProcess;
  output(): string;
  /** Resolves when the process exits, with its code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns `apps/<app>/src/main.ts` under tsx, or with `built` (`apps/<app>/dist/main.js`) that file with
 * plain node, as production runs it; resolves once it answers /readyz. Its environment is `env` alone
 * (with PATH, a port of 127.0.0.1 and a metrics port, and LOG_LEVEL warn unless given).
 */
export async function spawnApp(app: 'relay' | 'gateway', env: Record<string, string>, port?: number, built?: string): Promise<AppProcess> {
  const chosen = port ?? (await freePort());
  const metricsPort = await freePort();
  const prefix = app === 'relay' ? 'RELAY' : 'GATEWAY';
  const portVar = {
    [`${prefix}_PORT`]: String(chosen),
    [`${prefix}_HOST`]: '127.0.0.1',
    [`${prefix}_METRICS_PORT`]: String(metricsPort),
    [`${prefix}_METRICS_HOST`]: '127.0.0.1',
  };
  const args = built === undefined ? [...TSX_NODE_ARGS, join(root, 'apps', app, 'src', 'main.ts')] : [built];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env, ...portVar },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${chosen}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the ${app} exited with ${child.exitCode}: ${output}`);
    const up = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the ${app} did not become ready: ${output}`);
    }
    await sleep(50);
  }
  return {
    url,
    port: chosen,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    child,
    output: () => output,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
