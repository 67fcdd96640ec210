import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mintToken } from '@tenantcast/sdk/tokens';
import { connect, freePort, TEST_SECRET, TSX_NODE_ARGS, until, useRedisServer } from '@tenantcast/testkit';

const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const fixture = useRedisServer();

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node --conditions=source --import tsx apps/gateway/src/main.ts` with `env` on top of a clean environment; killed after the test. */
function run(t: { after(fn: () => unknown): void }, env: Record<string, string>): Running {
  const base = { ...process.env };
  for (const key of Object.keys(base)) if (/^(TENANTCAST_|GATEWAY_|REDIS_|LOG_LEVEL$|SHUTDOWN_)/.test(key)) delete base[key];
  const child = spawn(process.execPath, [...TSX_NODE_ARGS, mainPath], {
    cwd: repoRoot,
    env: { ...base, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stderr: () => stderr, exited };
}

/** Waits for the exit, failing after `timeoutMs`. */
async function exitOf(running: Running, timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      running.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the process did not exit within ${timeoutMs} ms; stderr: ${running.stderr()}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the gateway process', () => {
  test('exits 78 (EX_CONFIG) naming TENANTCAST_SECRET when it is unset', async (t) => {
    const running = run(t, { REDIS_URL: fixture.redis.url, GATEWAY_PORT: String(await freePort()) });
    const { code } = await exitOf(running);
    assert.equal(code, 78);
    assert.match(running.stderr(), /TENANTCAST_SECRET/);
  });

  test('exits 78 naming the variable of a bad value', async (t) => {
    const running = run(t, { TENANTCAST_SECRET: TEST_SECRET, REDIS_URL: fixture.redis.url, GATEWAY_PORT: 'eighty' });
    const { code } = await exitOf(running);
    assert.equal(code, 78);
    assert.match(running.stderr(), /GATEWAY_PORT/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`serves /readyz, then on ${signal} closes its clients with 1001 and exits 0`, async (t) => {
      const port = await freePort();
      const running = run(t, {
        TENANTCAST_SECRET: TEST_SECRET,
        REDIS_URL: fixture.redis.url,
        GATEWAY_PORT: String(port),
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_METRICS_PORT: '0',
        LOG_LEVEL: 'silent',
      });
      const base = `http://127.0.0.1:${port}`;
      await until(
        async () => {
          if (running.child.exitCode !== null) throw new Error(`the process exited with ${running.child.exitCode}: ${running.stderr()}`);
          return (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200;
        },
        '/readyz to answer 200',
        20_000,
      );
      const token = await mintToken({ sub: 'process-test', scope: 'subscribe', tenants: ['acme'] }, TEST_SECRET);
      const client = await connect(t, `ws://127.0.0.1:${port}/v1/tenants/acme/events`, { token });

      running.child.kill(signal);
      assert.equal((await client.closedWith(10_000)).code, 1001);
      const { code, signal: killedBy } = await exitOf(running);
      assert.equal(killedBy, null);
      assert.equal(code, 0, running.stderr());
    });
  }
});
