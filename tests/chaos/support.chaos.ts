// Shared fixtures of the chaos scenarios (no tests of its own). Named *.chaos.ts so that the normal
// `npm test` leaves it alone; scripts/test-chaos.sh does not run it as a suite.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import type { CloudEvent } from '@tenantcast/sdk';
import { freePort, sleep, until as waitUntil } from '@tenantcast/testkit';

export const root = join(import.meta.dirname, '..', '..');

export { sleep };

/** testkit's `until`, polling every 20 ms, with the longer default these suites need. */
export function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  return waitUntil(check, what, ms, 20);
}

/** Prints one figure of a run in a form the runner collects: `CHAOS-FIGURE <name> <value>`. */
export function figure(name: string, value: number | string): void {
  console.log(`CHAOS-FIGURE ${name} ${value}`);
}

export function tenantOf(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

/** A tick event for `tenant`, numbered `n`. */
export function tick(tenant: string, n: number, source = 'chaos'): CloudEvent {
  return {
    specversion: '1.0',
    id: `${tenant}-${n}-${randomUUID()}`,
    source,
    type: 'com.example.tick',
    tenantid: tenant,
    data: { n },
  } as CloudEvent;
}

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
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps', app, 'src', 'main.ts')], {
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

/** A TCP load balancer: each new connection goes to the next live target, round robin. */
export interface RoundRobinProxy {
  readonly port: number;
  /** Ports of the live targets; remove one when its process dies. */
  targets: number[];
  /** Connections handed to each target so far. */
  counts: Map<number, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targets: number[]): Promise<RoundRobinProxy> {
  const sockets = new Set<Socket>();
  let next = 0;
  const proxy: RoundRobinProxy = {
    port: 0,
    targets: [...targets],
    counts: new Map(),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((client) => {
    const live = proxy.targets;
    if (live.length === 0) {
      client.destroy();
      return;
    }
    const target = live[next++ % live.length] as number;
    proxy.counts.set(target, (proxy.counts.get(target) ?? 0) + 1);
    const upstream = tcpConnect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no proxy address');
  (proxy as { port: number }).port = address.port;
  return proxy;
}

/** Every stored event of `tenant`, read through the relay's history endpoint. */
export async function history(
  relayUrl: string,
  token: string,
  tenant: string,
): Promise<Array<{ offset: string; event: { id: string } & Record<string, unknown> }>> {
  const all: Array<{ offset: string; event: { id: string } & Record<string, unknown> }> = [];
  let after = '0';
  for (let page = 0; page < 1000; page++) {
    const response = await fetch(`${relayUrl}/v1/tenants/${encodeURIComponent(tenant)}/events?after=${after}&limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.status !== 200) throw new Error(`history of ${tenant}: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { events: typeof all; next: string | null };
    all.push(...body.events);
    if (body.next === null) return all;
    after = body.next;
  }
  throw new Error('history: too many pages');
}

/** Orders stream offsets `<ms>-<seq>`. */
export function offsetAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}
