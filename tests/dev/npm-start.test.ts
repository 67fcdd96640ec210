import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { freePort, until } from '@tenantcast/testkit';

/**
 * The README's `npm start`, run as a user runs it: a signal to the `npm start` process (not to its
 * process group, as a terminal's Ctrl-C does) stops everything it started — the relay, the gateway
 * and the redis-server it started for want of one — and the servers listen on 127.0.0.1 only.
 */

const root = join(import.meta.dirname, '..', '..');

/** The pids below `pid`, read from /proc (Linux). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we read.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function alive(pid: number): boolean {
  // A zombie has exited; only its parent's wait is missing.
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(1000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** This machine's first address that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

interface Started {
  npm: ChildProcess;
  output: () => string;
  ports: { relay: number; gateway: number; redis: number; relayMetrics: number; gatewayMetrics: number };
  dir: string;
}

async function startNpm(): Promise<Started> {
  const ports = {
    relay: await freePort(),
    gateway: await freePort(),
    redis: await freePort(),
    relayMetrics: await freePort(),
    gatewayMetrics: await freePort(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'tc-dev-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A Redis of its own on a free port: never the machine's, and never a test runner's context.
  for (const name of [
    'REDIS_URL',
    'TENANTCAST_SECRET',
    'RELAY_HOST',
    'GATEWAY_HOST',
    'RELAY_METRICS_HOST',
    'GATEWAY_METRICS_HOST',
    'NODE_TEST_CONTEXT',
  ])
    delete env[name];
  Object.assign(env, {
    TENANTCAST_DEV_DIR: dir,
    TENANTCAST_DEV_REDIS_PORT: String(ports.redis),
    RELAY_PORT: String(ports.relay),
    GATEWAY_PORT: String(ports.gateway),
    RELAY_METRICS_PORT: String(ports.relayMetrics),
    GATEWAY_METRICS_PORT: String(ports.gatewayMetrics),
    LOG_LEVEL: 'warn',
  });
  const npm = spawn('npm', ['start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  npm.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  npm.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await until(
    () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}:\n${text}`);
      return text.includes('tenantcast is running');
    },
    'npm start to print that tenantcast is running',
    60_000,
  );
  return { npm, output: () => text, ports, dir };
}

const linux = existsSync('/proc/self/stat');
const consoleBuilt = existsSync(join(root, 'apps', 'console', 'dist', 'index.html'));

/** The console link `npm start` printed: a portal link for the tenant demo, its token in the fragment. */
async function checkConsoleLink(t: TestContext, started: Started): Promise<void> {
  const match = /console {3}(http:\/\/127\.0\.0\.1:(\d+)\/console\/#token=[\w.-]+)\n\s+\(tenant demo, until (\S+);/.exec(started.output());
  assert.ok(match, `prints a console link for the tenant demo:\n${started.output()}`);
  const [, link, port, until] = match;
  assert.equal(Number(port), started.ports.relay);
  assert.ok(Date.parse(until!) > Date.now(), `the link is valid until ${until}`);
  const config = (await (await fetch(`http://127.0.0.1:${port}/console/config.json`)).json()) as { gatewayUrl: string };
  assert.equal(config.gatewayUrl, `ws://127.0.0.1:${started.ports.gateway}`, 'the console subscribes through npm start’s gateway');
  const token = link!.slice(link!.indexOf('#token=') + 7);
  const history = await fetch(`http://127.0.0.1:${port}/v1/tenants/demo/events`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(history.status, 200, 'the link’s token reads the tenant demo');
  await t.test(
    'the console link answers 200',
    { skip: consoleBuilt ? false : 'apps/console/dist is not built in this checkout (pnpm build builds it)' },
    async () => {
      const page = await fetch(link!);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    },
  );
}

/** The CLI commands `npm start` printed work as printed, from the repository's root: publish, then history shows the event. */
function checkCliCommands(started: Started): void {
  const block = /The CLI \(docs\/cli\.md\)[^\n]*\n((?: {2}.*\n)+)/.exec(started.output());
  assert.ok(block, `prints the CLI's commands:\n${started.output()}`);
  const lines = block[1]!.split('\n').map((line) => line.trim());
  assert.ok(lines.includes('npx tenantcast tail demo --after 0'), 'a tail command');
  assert.ok(!started.output().includes('wscat'), 'no wscat line any more');
  const script = [
    ...lines.filter((line) => line.startsWith('export ') || line.startsWith('npx tenantcast publish ')),
    'npx tenantcast history demo --json',
  ];
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('TENANTCAST_') || name === 'NODE_TEST_CONTEXT') delete env[name];
  const result = spawnSync('bash', ['-euc', script.join('\n')], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `${script.join('\n')}\n${result.stdout}${result.stderr}`);
  // The publish command's result (JSON: stdout is a pipe), then the history's one event.
  const [published, ...events] = result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { source: string; data: unknown; duplicate?: boolean });
  assert.equal(published!.duplicate, false);
  assert.deepEqual(
    events.map((e) => [e.source, e.data]),
    [['com.qlik/demo', { id: 'wi-1' }]],
  );
}

describe('npm start', { skip: linux ? false : 'reads the process tree from /proc' }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} to the npm start process stops the relay, the gateway and its redis-server`, async (t) => {
      const started = await startNpm();
      t.after(() => {
        if (started.npm.exitCode === null) started.npm.kill('SIGKILL');
        rmSync(started.dir, { recursive: true, force: true });
      });
      const tree = descendants(started.npm.pid!);
      // The dev script, the relay, the gateway and the redis-server it started (npm's shell execs away).
      assert.ok(tree.length >= 4, `expected the dev script and its three servers under npm, found ${tree.length}`);
      for (const port of Object.values(started.ports)) assert.ok(await accepts('127.0.0.1', port), `something listens on ${port}`);
      const outside = outsideAddress();
      if (outside !== undefined) {
        assert.equal(await accepts(outside, started.ports.relay), false, `the relay is not reachable on ${outside}`);
        assert.equal(await accepts(outside, started.ports.gateway), false, `the gateway is not reachable on ${outside}`);
        assert.equal(await accepts(outside, started.ports.gatewayMetrics), false, `the gateway's metrics are not reachable on ${outside}`);
      }
      assert.ok(started.output().includes(`http://127.0.0.1:${started.ports.gatewayMetrics}/metrics`), 'prints the metrics URLs');
      assert.equal((await fetch(`http://127.0.0.1:${started.ports.gatewayMetrics}/metrics`)).status, 200);
      await checkConsoleLink(t, started);
      if (signal === 'SIGTERM') checkCliCommands(started);

      started.npm.kill(signal);
      await until(() => tree.every((pid) => !alive(pid)), `every process npm start started to exit after ${signal}`, 15_000, 100);
      await until(() => started.npm.exitCode !== null || started.npm.signalCode !== null, 'npm to exit', 5_000);
      for (const port of Object.values(started.ports)) assert.equal(await accepts('127.0.0.1', port), false, `port ${port} is closed`);
      assert.match(started.output(), new RegExp(`stopping \\(${signal}\\)`));
    });
  }
});
