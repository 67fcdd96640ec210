import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, sleep, startRedisServer, TEST_SECRET, TSX_NODE_ARGS, testToken, uniqueKeyPrefix } from '@tenantcast/testkit';
import { Webhook } from 'standardwebhooks';

// A crash of the relay process in mid-dispatch loses no delivery: the dispatcher acknowledges stream
// entries only once their jobs exist, and BullMQ gives the jobs that were active back to a live worker.
// This tests the process itself, so it spawns main.ts.

const root = join(import.meta.dirname, '..', '..', '..', '..');
const main = join(root, 'apps', 'relay', 'src', 'main.ts');

interface RelayProcess {
  url: string;
  child: ChildProcess;
  /** The last of its output, for a failure message. */
  output(): string;
}

/** Spawns the relay process and waits until it answers /healthz. */
async function spawnRelay(env: Record<string, string>): Promise<RelayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...TSX_NODE_ARGS, main], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env, RELAY_PORT: String(port), RELAY_HOST: '127.0.0.1', RELAY_METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the relay exited with ${child.exitCode}: ${output}`);
    const up = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`the relay did not become ready: ${output}`);
    await sleep(50);
  }
  return { url, child, output: () => output };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

test('the relay killed in mid-dispatch loses nothing; repeats carry the same webhook-id', { timeout: 120_000 }, async (t) => {
  const redis = await startRedisServer();
  const children: ChildProcess[] = [];
  const hits: Array<{ at: number; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      // A little work per delivery, so that deliveries are under way when the relay dies.
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(204).end();
      }, 30);
    });
  });
  t.after(async () => {
    for (const child of children) await kill(child, 'SIGTERM').catch(() => {});
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await redis.stop();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const env = {
    REDIS_URL: redis.url,
    TENANTCAST_SECRET: TEST_SECRET,
    REDIS_KEY_PREFIX: uniqueKeyPrefix('crash'),
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE: '50,100,200',
    WEBHOOK_DISPATCH_CLAIM_IDLE_MS: '500',
    // Jobs active at the crash run again once their lock expires and the stalled check sees it.
    WEBHOOK_LOCK_MS: '2000',
    LOG_LEVEL: 'warn',
    SHUTDOWN_TIMEOUT_MS: '2000',
  };
  const tenant = 'crash';
  const admin = await testToken({ scope: 'admin', tenants: [tenant] });
  const publisher = await testToken({ scope: 'publish', tenants: [tenant] });

  const first = await spawnRelay(env);
  children.push(first.child);
  const created = await fetch(`${first.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiverUrl }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { secret } = (await created.json()) as { secret: string };

  /** event id → offset, for every event the relay accepted. */
  const published = new Map<string, string>();
  const publish = async (url: string, count: number) => {
    const events = Array.from({ length: count }, (_, i) => ({
      specversion: '1.0',
      id: randomUUID(),
      source: 'crash-test',
      type: 'com.example.tick',
      tenantid: tenant,
      data: { i },
    }));
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { accepted } = (await res.json()) as { accepted: Array<{ offset: string }> };
    for (const [i, e] of events.entries()) published.set(e.id, accepted[i]!.offset);
  };

  await publish(first.url, 100);
  await publish(first.url, 50);
  const deadline = Date.now() + 10_000;
  while (hits.length < 20) {
    assert.ok(Date.now() < deadline, `deliveries did not start: ${first.output()}`);
    await sleep(5);
  }
  // More events, and the crash right after they are stored: the dispatcher is reading or adding them.
  await publish(first.url, 100);
  await publish(first.url, 50);
  await kill(first.child);
  const seenAtCrash = new Set(hits.map((h) => JSON.parse(h.body).id as string)).size;
  assert.ok(seenAtCrash < published.size, `the crash came after every delivery (${seenAtCrash} of ${published.size}); nothing was tested`);

  const restartedAt = Date.now();
  const second = await spawnRelay(env);
  children.push(second.child);
  const seen = () => new Set(hits.map((h) => JSON.parse(h.body).id as string));
  // Jobs that were active at the crash (up to the worker's concurrency, as jobs waiting for an endpoint
  // slot are active too) come back once the stalled-job check finds their lock expired: with
  // WEBHOOK_LOCK_MS=2000 that is within about 4 s; the bound below is generous for a loaded machine.
  const recovery = Date.now() + 60_000;
  while (seen().size < published.size && Date.now() < recovery) await sleep(100);
  const missing = [...published.keys()].filter((id) => !seen().has(id));
  assert.deepEqual(
    missing.map((id) => published.get(id)),
    [],
    `events never delivered (${missing.length} of ${published.size}; ${seenAtCrash} seen at the crash)`,
  );

  // At least once: any repeat is the same message, with the same webhook-id, and verifies.
  const idsByEvent = new Map<string, Set<string>>();
  for (const hit of hits) {
    const event = new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>) as { id: string };
    const ids = idsByEvent.get(event.id) ?? new Set<string>();
    ids.add(String(hit.headers['webhook-id']));
    idsByEvent.set(event.id, ids);
  }
  for (const [id, ids] of idsByEvent) assert.deepEqual(ids, new Set([`msg_${tenant}_${published.get(id)}`]), `event ${id}`);
  assert.equal(idsByEvent.size, published.size, 'no event the relay did not accept');

  // Nothing ended up failed on the way.
  const rootToken = await testToken({ scope: 'admin', tenants: ['*'] });
  const board = await fetch(`${second.url}/admin/queues/api/queues?activeQueue=webhook-deliveries&status=failed&page=1&jobsPerPage=50`, {
    headers: { authorization: `Bearer ${rootToken}` },
  });
  const { queues } = (await board.json()) as { queues: Array<{ name: string; jobs: Array<{ id: string; failedReason: string }> }> };
  assert.deepEqual(queues.find((q) => q.name === 'webhook-deliveries')?.jobs, []);
  const lastHit = Math.max(...hits.map((h) => h.at)) - restartedAt;
  t.diagnostic(
    `${published.size} events, ${seenAtCrash} seen at the crash, ${hits.length - published.size} repeats, the last delivery ${lastHit} ms after the restart`,
  );
});
