import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { makeEvent, publishOne, sleep, TEST_SECRET, TSX_NODE_ARGS, uniqueKeyPrefix, until } from '@tenantcast/testkit';
import type { TestRelay } from '../testing/start-relay.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';

// With WEBHOOK_DELIVERY=off the relay only serves the API; delivery processes (delivery-main.ts)
// run the dispatcher and the workers, for scale. This tests those processes, so it spawns them.

const root = join(import.meta.dirname, '..', '..', '..', '..');
const deliveryMain = join(root, 'apps', 'relay', 'src', 'delivery-main.ts');

interface Receiver {
  url: string;
  hits: Array<{ headers: IncomingHttpHeaders; id: string }>;
}

interface Fixture {
  relay: TestRelay;
  receiver(): Promise<Receiver>;
  /** Spawns a delivery process on the relay's Redis and key prefix; resolves once it logged that it runs. */
  startDelivery(): Promise<ChildProcess>;
}

/** A redis-server, an API-only relay, receivers and delivery processes of the test's own; closed in that order's reverse, Redis last. */
async function setup(t: TestContext): Promise<Fixture> {
  const keyPrefix = uniqueKeyPrefix('split');
  const { redis, relay, close } = await startRelayWithRedis({
    deliveryMode: 'off',
    keyPrefix,
    webhookAllowPrivate: true,
    webhookRetrySchedule: [50, 100, 100],
  });
  const servers: Array<ReturnType<typeof createServer>> = [];
  const children: ChildProcess[] = [];
  t.after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
    }
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await close();
  });
  return {
    relay,
    async receiver() {
      const receiver: Receiver = { url: '', hits: [] };
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          receiver.hits.push({ headers: req.headers, id: JSON.parse(Buffer.concat(chunks).toString('utf8')).id });
          res.writeHead(204).end();
        });
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      return receiver;
    },
    async startDelivery() {
      const child = spawn(process.execPath, [...TSX_NODE_ARGS, deliveryMain], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          REDIS_URL: redis.url,
          TENANTCAST_SECRET: TEST_SECRET,
          REDIS_KEY_PREFIX: keyPrefix,
          WEBHOOK_ALLOW_PRIVATE: 'true',
          WEBHOOK_RETRY_SCHEDULE: '50,100,100',
          LOG_LEVEL: 'info',
          SHUTDOWN_TIMEOUT_MS: '2000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the delivery process did not start: ${output}`)), 20_000);
        const read = (chunk: Buffer) => {
          output += chunk.toString('utf8');
          if (output.includes('delivery workers running')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout!.on('data', read);
        child.stderr!.on('data', read);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the delivery process exited with ${code}: ${output}`));
        });
      });
      return child;
    },
  };
}

async function register(relay: TestRelay, tenant: string, url: string): Promise<{ id: string }> {
  const token = await relay.token({ scope: 'admin', tenants: [tenant] });
  const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { id: string };
}

async function publish(relay: TestRelay, tenant: string, id: string): Promise<void> {
  const token = await relay.token({ scope: 'publish', tenants: [tenant] });
  await publishOne(relay.url, token, makeEvent(tenant, { id, source: 'split-test', type: 'com.example.x' }));
}

describe('delivery processes apart from the relay', () => {
  test('the relay with deliveryMode off delivers nothing itself; a delivery process delivers what was stored meanwhile', async (t) => {
    const { relay, receiver, startDelivery } = await setup(t);
    const r = await receiver();
    await register(relay, 'split', r.url);
    await publish(relay, 'split', 'before-workers');
    await sleep(800);
    assert.equal(r.hits.length, 0, 'no dispatcher runs in the relay');

    await startDelivery();
    await until(() => r.hits.length === 1, 'the event stored while no delivery process ran');
    await publish(relay, 'split', 'after-workers');
    await until(() => r.hits.length === 2, 'the next event');
    assert.deepEqual(
      r.hits.map((h) => h.id),
      ['before-workers', 'after-workers'],
    );
  });

  test('an endpoint registered through the relay gets the events stored right after, though a delivery process dispatches them', async (t) => {
    const { relay, receiver, startDelivery } = await setup(t);
    const first = await receiver();
    const second = await receiver();
    await startDelivery();
    const tenant = 'split-cache';
    await register(relay, tenant, first.url);
    // The delivery process dispatches this event, and caches the tenant's endpoints as it does.
    await publish(relay, tenant, 'e1');
    await until(() => first.hits.length === 1, 'the first event');
    // A second endpoint, and an event stored after it exists, within the cache's second.
    await register(relay, tenant, second.url);
    await sleep(5);
    await publish(relay, tenant, 'e2');
    await until(() => first.hits.length === 2, 'the second event at the first endpoint');
    await sleep(1500);
    assert.deepEqual(
      second.hits.map((h) => h.id),
      ['e2'],
      'the endpoint registered before e2 was stored gets e2',
    );
  });
});
