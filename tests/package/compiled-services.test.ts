import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { describe, type TestContext, test } from 'node:test';
import { connect, makeEvent, TEST_SECRET, testToken, until, useRedisServer, within } from '@tenantcast/testkit';
import { root, spawnApp } from '../support/app-process.ts';
import { builtEntry } from '../support/built.ts';

// Production runs `node apps/<app>/dist/main.js`: plain node, no tsx, no `source` condition, and the
// process that gets SIGTERM is the app itself. On SIGTERM it logs, stops accepting, drains what is in
// flight (cut once SHUTDOWN_TIMEOUT_MS passes), and exits 0.

const SHUTDOWN_TIMEOUT_MS = 1500;
/** How long after SHUTDOWN_TIMEOUT_MS an exit may take: closing workers and Redis, on a busy machine. */
const MARGIN_MS = 5000;

const fixture = useRedisServer();

const env = () => ({
  REDIS_URL: fixture.redis.url,
  TENANTCAST_SECRET: TEST_SECRET,
  LOG_LEVEL: 'info',
  SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
});

/**
 * POST /v1/events: `sent` resolves once its headers and half its body are written; `finish()` sends
 * the rest. `answer` settles with the response, or rejects when the connection is cut.
 */
function startUpload(url: string, token: string, id: string) {
  const body = Buffer.from(JSON.stringify(makeEvent('acme', { id })));
  const req = request(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json', 'content-length': body.length },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
  answer.catch(() => {});
  const sent = new Promise<void>((resolve, reject) =>
    req.write(body.subarray(0, body.length >> 1), (error) => (error ? reject(error) : resolve())),
  );
  return { answer, sent, finish: () => req.end(body.subarray(body.length >> 1)) };
}

/** Sends SIGTERM and resolves with the exit and how long it took. */
async function terminate(app: { child: { kill(signal: NodeJS.Signals): boolean }; exited: Promise<{ code: number | null }> }) {
  const sent = Date.now();
  app.child.kill('SIGTERM');
  const { code } = await within(app.exited, 'the process to exit', SHUTDOWN_TIMEOUT_MS + MARGIN_MS);
  return { code, ms: Date.now() - sent };
}

describe('the compiled services under plain node', () => {
  test('the relay on SIGTERM: logs "shutting down", answers the upload in flight, cuts the one that never ends, exits 0', async (t) => {
    const relay = await spawnApp('relay', env(), undefined, builtEntry('relay'));
    t.after(() => relay.kill());
    const token = await testToken({ scope: 'publish' });
    const finishing = startUpload(relay.url, token, 'finishes-after-sigterm');
    const stalled = startUpload(relay.url, token, 'never-finishes');
    await Promise.all([finishing.sent, stalled.sent]);
    // Answered after both uploads' headers arrived: the relay has accepted them and waits for their bodies.
    assert.equal((await fetch(`${relay.url}/healthz`)).status, 200);

    const exit = terminate(relay);
    await until(() => relay.output().includes('shutting down'), 'the "shutting down" log line');
    finishing.finish();
    const answered = await finishing.answer;
    assert.equal(answered.status, 202, answered.body);
    await assert.rejects(stalled.answer, 'the upload that never ends is cut');
    const { code, ms } = await exit;
    assert.equal(code, 0, relay.output());
    assert.ok(ms >= SHUTDOWN_TIMEOUT_MS - 100, `the relay waited for the stalled upload (${ms} ms)`);
  });

  test('the gateway on SIGTERM: logs "shutting down", closes its WebSocket clients with 1001, exits 0', async (t) => {
    const gateway = await spawnApp('gateway', env(), undefined, builtEntry('gateway'));
    t.after(() => gateway.kill());
    const client = await connect(t, `ws://127.0.0.1:${gateway.port}/v1/tenants/acme/events`, {
      token: await testToken({ scope: 'subscribe' }),
    });

    const exit = terminate(gateway);
    assert.equal((await client.closedWith(SHUTDOWN_TIMEOUT_MS + MARGIN_MS)).code, 1001);
    assert.equal((await exit).code, 0, gateway.output());
    assert.match(gateway.output(), /shutting down/);
  });

  test('the delivery process (dist/delivery-main.js) on SIGTERM: logs "shutting down", exits 0', async (t: TestContext) => {
    const child = spawn(process.execPath, [builtEntry('relay', 'delivery-main.js')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const exited = new Promise<{ code: number | null }>((resolve) => child.once('exit', (code) => resolve({ code })));
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await until(() => {
      if (child.exitCode !== null) throw new Error(`the delivery process exited with ${child.exitCode}: ${output}`);
      return output.includes('delivery workers running');
    }, 'the delivery process to start');

    const { code } = await terminate({ child, exited });
    assert.equal(code, 0, output);
    assert.match(output, /shutting down/);
  });
});
