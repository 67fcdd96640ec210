import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, sleep, TSX_NODE_ARGS } from '@tenantcast/testkit';

/** The repository's root. */
export const root = join(import.meta.dirname, '..', '..');

/** A spawned app process (`apps/<app>/src/main.ts`), for scenarios that kill the process itself. */
export interface AppProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnApp(app: 'relay' | 'gateway', env: Record<string, string>, port?: number): Promise<AppProcess> {
  const chosen = port ?? (await freePort());
  const portVar =
    app === 'relay' ? { RELAY_PORT: String(chosen), RELAY_HOST: '127.0.0.1' } : { GATEWAY_PORT: String(chosen), GATEWAY_HOST: '127.0.0.1' };
  const child = spawn(process.execPath, [...TSX_NODE_ARGS, join(root, 'apps', app, 'src', 'main.ts')], {
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
    child,
    output: () => output,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    },
  };
}
