// Fixtures of the cluster suites: a Redis Cluster with two relays and two gateways on it, and
// tenants chosen so that every shard holds some.
import type { TestContext } from 'node:test';
import { startGateway, type TestGateway } from '@tenantcast/gateway/testing';
import { startRelay, type TestRelay } from '@tenantcast/relay/testing';
import { type RedisCluster, startRedisCluster, uniqueKeyPrefix, uniqueTenant } from '@tenantcast/testkit';
import { onEnd } from './cleanup.ts';

/** A 3-master, 3-replica cluster, two relays and two gateways sharing one key prefix. */
export interface ClusterStack {
  cluster: RedisCluster;
  relays: [TestRelay, TestRelay];
  gateways: [TestGateway, TestGateway];
  token: string;
}

export async function startClusterStack(t: TestContext, relay: Parameters<typeof startRelay>[1] = {}): Promise<ClusterStack> {
  const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  onEnd(t, () => cluster.stop());
  const connection = { redisUrl: `redis://${cluster.nodes[0]}`, redisClusterNodes: cluster.nodes };
  const keyPrefix = uniqueKeyPrefix('cl');
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
  // Apps go before the Redis they use: onEnd runs last in, first out (t.after alone runs first in, first out).
  for (const app of [...relays, ...gateways]) onEnd(t, () => app.close());
  return { cluster, relays, gateways, token: await relays[0].token({ scope: 'publish subscribe admin' }) };
}

/** `perMaster` tenant ids for each master of the cluster, so that every shard serves some. */
export async function tenantsOnEveryShard(cluster: RedisCluster, perMaster: number, name: string): Promise<Map<string, string[]>> {
  const byMaster = new Map<string, string[]>();
  const masters = new Set<string>();
  for (let i = 0; i < 64; i++) masters.add(await cluster.masterOf(`probe-${i}`));
  for (let i = 0; byMaster.size < masters.size || [...byMaster.values()].some((t) => t.length < perMaster); i++) {
    if (i > 10_000) throw new Error('could not spread tenants over the shards');
    const tenant = uniqueTenant(`${name}-${i}`);
    const master = await cluster.masterOf(`{${tenant}}`);
    const list = byMaster.get(master) ?? [];
    if (list.length < perMaster) list.push(tenant);
    byMaster.set(master, list);
  }
  return byMaster;
}
