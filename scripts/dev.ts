/**
 * `npm start` (through scripts/start.mjs): runs tenantcast locally with working defaults.
 * - Redis: REDIS_URL when set; else 127.0.0.1:6379 (TENANTCAST_DEV_REDIS_PORT) when it answers; else a redis-server started here
 *   (data in .tenantcast-dev/redis, AOF on), stopped again on exit.
 * - TENANTCAST_SECRET: when unset, a random one kept in .tenantcast-dev/secret (TENANTCAST_DEV_DIR), so tokens survive restarts.
 * - The relay and the gateway listen on 127.0.0.1 (RELAY_HOST, GATEWAY_HOST to change it): the dev stack delivers webhooks to
 *   private addresses and prints tokens for every tenant, so it is not for other machines to reach. Their metrics are on
 *   listeners of their own, 127.0.0.1:9080 and :9081 (RELAY_METRICS_PORT, GATEWAY_METRICS_PORT).
 * - Prints ready-to-use dev tokens, valid as long as the servers allow (AUTH_MAX_TOKEN_LIFETIME_SECONDS, 24 h by default),
 *   a first request to try, the CLI's commands for this stack (start.mjs builds the CLI), and a console link for the tenant `demo` (a portal link made through the relay's API; the
 *   console subscribes through this gateway: CONSOLE_GATEWAY_URL).
 * - SIGINT or SIGTERM (Ctrl-C, or a signal to `npm start`) stops the relay, the gateway and the redis-server it started, then
 *   exits; so does the parent going away.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintToken } from '@tenantcast/sdk/tokens';
import { Redis } from 'ioredis';

const root = join(import.meta.dirname, '..');
const devDir = process.env.TENANTCAST_DEV_DIR ?? join(root, '.tenantcast-dev');
const children: ChildProcess[] = [];
let stopping = false;

function log(message: string): void {
  process.stdout.write(`tenantcast: ${message}\n`);
}

function fail(message: string): never {
  process.stderr.write(`tenantcast: ${message}\n`);
  stopAll();
  process.exit(1);
}

/** Stops every child (SIGTERM, then SIGKILL after 10 s), then exits with `code`. */
async function stop(reason: string, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`stopping (${reason})`);
  stopAll();
  const deadline = Date.now() + 10_000;
  while (children.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const child of children) if (running(child)) child.kill('SIGKILL');
  process.exit(code);
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
// npm forwards signals to this process; if npm itself is killed outright, this process is orphaned:
// stop rather than hold the ports.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop('the parent process exited');
}, 500).unref();

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function resolveRedis(): Promise<string> {
  if (process.env.REDIS_URL) {
    log(`using REDIS_URL=${process.env.REDIS_URL}`);
    return process.env.REDIS_URL;
  }
  const port = process.env.TENANTCAST_DEV_REDIS_PORT ?? '6379';
  const url = `redis://127.0.0.1:${port}`;
  if (await answers(url)) {
    log(`using the Redis that answers on ${url}`);
    return url;
  }
  if (spawnSync('redis-server', ['--version']).error) {
    fail(
      `no Redis answers on 127.0.0.1:${port} and redis-server is not installed.\n` +
        '  Install it: sudo apt-get install redis-server (Debian/Ubuntu), brew install redis (macOS),\n' +
        '  or run one: docker run -p 6379:6379 redis:7; or point REDIS_URL at yours.',
    );
  }
  const dir = join(devDir, 'redis');
  mkdirSync(dir, { recursive: true });
  log(`starting redis-server on 127.0.0.1:${port} (data in ${dir}, AOF on)`);
  const child = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    if (await answers(url)) return url;
    if (child.exitCode !== null) fail(`redis-server exited with code ${child.exitCode}; is port ${port} taken?`);
    await new Promise((r) => setTimeout(r, 100));
  }
  fail('redis-server did not answer within 10 s');
}

function resolveSecret(): string {
  if (process.env.TENANTCAST_SECRET) return process.env.TENANTCAST_SECRET;
  const file = join(devDir, 'secret');
  if (!existsSync(file)) {
    mkdirSync(devDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
    log(`generated a dev TENANTCAST_SECRET in ${file}`);
  }
  return readFileSync(file, 'utf8').trim();
}

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) fail(`${name} exited with code ${child.exitCode}; see its log above.`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`${name} did not become ready at ${url} within 30 s`);
}

function stopAll(): void {
  // Apps first (they were put first), then the redis-server they use.
  for (const child of children) if (running(child)) child.kill('SIGTERM');
}

const redisUrl = await resolveRedis();
const secret = resolveSecret();
const relayPort = process.env.RELAY_PORT ?? '8080';
const gatewayPort = process.env.GATEWAY_PORT ?? '8081';
const relayHost = process.env.RELAY_HOST ?? '127.0.0.1';
const gatewayHost = process.env.GATEWAY_HOST ?? '127.0.0.1';
const relayMetricsPort = process.env.RELAY_METRICS_PORT ?? '9080';
const gatewayMetricsPort = process.env.GATEWAY_METRICS_PORT ?? '9081';
// The dev tokens live as long as the servers accept (their default, unless set).
const tokenLifetime = Number(process.env.AUTH_MAX_TOKEN_LIFETIME_SECONDS || 24 * 3600);
/** Where a client on this machine reaches a server listening on `host`. */
const local = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);
// Local development delivers webhooks to endpoints on this machine too; the console subscribes through this gateway.
const env = {
  WEBHOOK_ALLOW_PRIVATE: 'true',
  CONSOLE_GATEWAY_URL: `ws://${local(gatewayHost)}:${gatewayPort}`,
  ...process.env,
  REDIS_URL: redisUrl,
  TENANTCAST_SECRET: secret,
  RELAY_PORT: relayPort,
  GATEWAY_PORT: gatewayPort,
  RELAY_HOST: relayHost,
  GATEWAY_HOST: gatewayHost,
  RELAY_METRICS_PORT: relayMetricsPort,
  GATEWAY_METRICS_PORT: gatewayMetricsPort,
};

/** Runs an app with Node and tsx's loader: one process per app, so that signals reach it directly. */
function startApp(name: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, `apps/${name}/src/main.ts`)], { env, stdio: 'inherit', cwd: root });
  children.unshift(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`tenantcast: ${name} exited (${signal ?? `code ${code}`})\n`);
      void stop(`${name} exited`, 1);
    }
  });
  return child;
}

const relay = startApp('relay');
const gateway = startApp('gateway');
const relayUrl = `http://${local(relayHost)}:${relayPort}`;
const gatewayUrl = `http://${local(gatewayHost)}:${gatewayPort}`;
const relayMetricsUrl = `http://${local(process.env.RELAY_METRICS_HOST ?? '127.0.0.1')}:${relayMetricsPort}/metrics`;
const gatewayMetricsUrl = `http://${local(process.env.GATEWAY_METRICS_HOST ?? '127.0.0.1')}:${gatewayMetricsPort}/metrics`;
await waitReady(relayUrl, relay, 'relay');
await waitReady(gatewayUrl, gateway, 'gateway');

const tokens = {
  publish: await mintToken({ sub: 'dev-publisher', scope: 'publish', tenants: ['*'], expiresIn: tokenLifetime }, secret),
  subscribe: await mintToken({ sub: 'dev-subscriber', scope: 'subscribe', tenants: ['*'], expiresIn: tokenLifetime }, secret),
  admin: await mintToken({ sub: 'dev-admin', scope: 'publish subscribe admin', tenants: ['*'], expiresIn: tokenLifetime }, secret),
};
const validFor = tokenLifetime % 3600 === 0 ? `${tokenLifetime / 3600} h` : `${tokenLifetime} s`;
const portal = await portalLink('demo');

process.stdout.write(`
tenantcast is running.
  relay     ${relayUrl}   (POST /v1/events, GET /v1/tenants/{tenantid}/events, /v1/tenants/{tenantid}/webhooks, /healthz, /readyz)
  dashboard ${relayUrl}/admin/queues   (user: any, password: the admin token below)
  console   ${portal.url}
            (tenant demo, until ${portal.expiresAt}; more links: POST /v1/tenants/{tenantid}/portal-links)${consoleBuilt() ? '' : '\n            (not built yet: run pnpm build)'}
  gateway   ${gatewayUrl.replace('http', 'ws')}   (/v1/tenants/{tenantid}/events, /v1/connect; /healthz, /readyz)
  metrics   ${relayMetricsUrl} (relay)   ${gatewayMetricsUrl} (gateway)
  redis     ${redisUrl}

Dev tokens (every tenant, valid ${validFor}):
  TC_PUBLISH_TOKEN=${tokens.publish}
  TC_SUBSCRIBE_TOKEN=${tokens.subscribe}
  TC_ADMIN_TOKEN=${tokens.admin}

Try it:
  curl -i ${relayUrl}/v1/events -H "Authorization: Bearer ${tokens.publish}" \\
    -H 'Content-Type: application/cloudevents+json' \\
    -d '{"specversion":"1.0","id":"demo-1","source":"com.qlik/demo","type":"com.qlik.web-integration.deleted","tenantid":"demo","data":{"id":"wi-1"}}'
  curl -s "${relayUrl}/v1/tenants/demo/events?after=0" -H "Authorization: Bearer ${tokens.subscribe}"

The CLI (docs/cli.md), from this folder in another terminal:
  export TENANTCAST_URL=${relayUrl} TENANTCAST_GATEWAY_URL=${gatewayUrl.replace('http', 'ws')}
  export TENANTCAST_TOKEN=${tokens.admin}
  npx tenantcast tail demo --after 0
  npx tenantcast publish --tenant demo --type com.qlik.web-integration.deleted --source com.qlik/demo --data '{"id":"wi-1"}'
  npx tenantcast history demo
  npx tenantcast --help

Ctrl-C (or SIGINT / SIGTERM to npm start) stops everything.
`);

/** A console link for `tenant`, made by the relay's API (POST /v1/tenants/{t}/portal-links) with the dev admin token. */
async function portalLink(tenant: string): Promise<{ url: string; expiresAt: string }> {
  const res = await fetch(`${relayUrl}/v1/tenants/${tenant}/portal-links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ expiresInSeconds: Math.min(tokenLifetime, 86_400) }),
  });
  if (res.status !== 201) fail(`the relay refused a portal link for tenant ${tenant}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { url: string; expiresAt: string };
}

/** Whether the relay has a console to serve (apps/console/dist, or CONSOLE_DIR). */
function consoleBuilt(): boolean {
  return existsSync(join(process.env.CONSOLE_DIR ?? join(root, 'apps/console/dist'), 'index.html'));
}
