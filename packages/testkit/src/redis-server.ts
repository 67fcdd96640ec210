import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server process of a test's own, on a free port, deleted with its data on `stop()`. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILLs the process (data not yet fsynced may be lost, as in a crash). */
  kill(): Promise<void>;
  /** Starts the process again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops the process and removes its data directory. Idempotent. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Turn AOF on (appendfsync `everysec` unless `fsync` says otherwise). Default off. */
  appendonly?: boolean;
  fsync?: 'always' | 'everysec' | 'no';
}

/** A free TCP port on 127.0.0.1, as the kernel hands one out for port 0. */
export async function freePort(): Promise<number> {
  // A port is free when asked, and taken later by a process the test starts: two calls close
  // together could otherwise get the same port from the kernel (it happened: two gateways spawned
  // at once, each with a metrics port, and one failed with EADDRINUSE). So never hand one out twice.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await unusedPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port that was not handed out already');
}

/** Ports this process's freePort() has handed out. */
const handedOut = new Set<number>();

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Throws, saying how to install it, when redis-server is not on PATH. */
export function assertRedisInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    throw new Error(
      'redis-server is not installed; tests start their own. Install it: `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS).',
    );
  }
}

/** Resolves once `url` answers PING; throws if `child` exits first or the deadline passes. */
export async function waitForPing(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before it answered`);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, disconnectTimeout: 50 });
    client.on('error', () => {});
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // Not up yet.
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server at ${url} did not answer within ${deadlineMs} ms`);
}

/**
 * Starts a redis-server of the caller's own. Never use it on a Redis you did not start: this one
 * may be flushed, killed and deleted freely.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  assertRedisInstalled();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tc-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    options.fsync ?? 'everysec',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  let child: ChildProcess;
  let stopped = false;

  async function launch(): Promise<void> {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPing(url, child, 10_000);
  }

  function exited(): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  await launch();
  return {
    port,
    url,
    async kill() {
      child.kill('SIGKILL');
      await exited();
    },
    async restart() {
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill('SIGKILL');
      await exited();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
