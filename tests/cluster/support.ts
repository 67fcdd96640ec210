// Fixtures of the cluster suites (no tests of its own): a Redis Cluster with two relays and two
// gateways on it, and tenants chosen so that every shard holds some.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import {
  type RedisCluster,
  startGateway,
  startRedisCluster,
  startRelay,
  type TestGateway,
  type TestRelay,
  until as waitUntil,
} from '@tenantcast/testkit';

export { sleep } from '@tenantcast/testkit';

/** testkit's `until`, polling every 20 ms, with the longer default these suites need. */
export function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  return waitUntil(check, what, ms, 20);
}

/** A 3-master, 3-replica cluster, two relays and two gateways sharing one key prefix. */
export interface ClusterStack {
  cluster: RedisCluster;
  relays: [TestRelay, TestRelay];
  gateways: [TestGateway, TestGateway];
  token: string;
}

export async function startClusterStack(t: TestContext, relay: Parameters<typeof startRelay>[1] = {}): Promise<ClusterStack> {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  t.after(() => cluster.stop());
  const connection = { redisUrl: `redis://${cluster.nodes[0]}`, redisClusterNodes: cluster.nodes };
  const keyPrefix = `cl-${randomUUID().slice(0, 8)}:`;
  // TENANTCAST_TEST_LOG=warn shows the apps' logs, to see what a failing scenario went through.
  const logLevel = (process.env.TENANTCAST_TEST_LOG ?? 'silent') as 'silent';
  const relays = [
    await startRelay(connection, { keyPrefix, logLevel, ...relay }),
    await startRelay(connection, { keyPrefix, logLevel, ...relay }),
  ] as [TestRelay, TestRelay];
  const gateways = [await startGateway(connection, { keyPrefix, logLevel }), await startGateway(connection, { keyPrefix, logLevel })] as [
    TestGateway,
    TestGateway,
  ];
  // Apps go before the Redis they use (t.after runs in reverse order).
  for (const app of [...relays, ...gateways]) t.after(() => app.close());
  return { cluster, relays, gateways, token: await relays[0].token({ scope: 'publish subscribe admin' }) };
}

/** `perMaster` tenant ids for each master of the cluster, so that every shard serves some. */
export async function tenantsOnEveryShard(cluster: RedisCluster, perMaster: number, name: string): Promise<Map<string, string[]>> {
  const byMaster = new Map<string, string[]>();
  const masters = new Set<string>();
  for (let i = 0; i < 64; i++) masters.add(await cluster.masterOf(`probe-${i}`));
  for (let i = 0; byMaster.size < masters.size || [...byMaster.values()].some((t) => t.length < perMaster); i++) {
    if (i > 10_000) throw new Error('could not spread tenants over the shards');
    const tenant = `${name}-${i}-${randomUUID().slice(0, 4)}`;
    const master = await cluster.masterOf(`{${tenant}}`);
    const list = byMaster.get(master) ?? [];
    if (list.length < perMaster) list.push(tenant);
    byMaster.set(master, list);
  }
  return byMaster;
}

/** An HTTP receiver of webhook deliveries on 127.0.0.1. */
export interface Receiver {
  url: string;
  deliveries: Array<{ headers: IncomingHttpHeaders; body: string }>;
  server: Server;
}

export async function startReceiver(t: TestContext): Promise<Receiver> {
  const deliveries: Receiver['deliveries'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, deliveries, server };
}
