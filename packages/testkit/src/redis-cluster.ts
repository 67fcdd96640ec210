import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { assertRedisInstalled, freePort, waitForPing } from './redis-server.ts';
import { until } from './wait.ts';

const run = promisify(execFile);

/** A local Redis Cluster of the caller's own: redis-server processes on free ports, deleted on `stop()`. */
export interface RedisCluster {
  /** `host:port` of every node, masters and replicas: the seed list for REDIS_CLUSTER_NODES. */
  readonly nodes: string[];
  /** The node that serves `key`'s slot as master now. */
  masterOf(key: string): Promise<string>;
  /**
   * SIGKILLs the master of `key`'s slot, and resolves once a replica has taken its slots over and
   * the cluster answers for them again. Resolves with the killed node's `host:port`.
   */
  failover(key: string): Promise<string>;
  /**
   * Brings a killed node back on its port as a replica of the master that took its slots over, as
   * an operator brings back a node that lost its data (these nodes keep none): the old node id
   * forgotten, its cluster config removed, `CLUSTER MEET`, `CLUSTER REPLICATE`. Resolves once
   * it is in sync. (Started again with its old config, an empty node would claim its old slots as
   * master until the cluster told it otherwise, and answer for them meanwhile.)
   */
  restart(address: string): Promise<void>;
  /** Stops every node and removes their data. Idempotent. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Masters; the 16,384 slots are split between them. Default 3. */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicas?: number;
  /** `cluster-node-timeout`: how long a master may be silent before it is failed over, in ms. Default 1,000. */
  nodeTimeoutMs?: number;
}

interface Node {
  port: number;
  address: string;
  args: string[];
  child: ChildProcess;
}

/**
 * Starts a Redis Cluster from the redis-server binary (`cluster-enabled yes`) and joins it with
 * `redis-cli --cluster create`, as Redis's own tutorial does. Each test that needs one starts its own.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  assertRedisInstalled();
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'tc-cluster-'));
  const nodes: Node[] = [];
  let stopped = false;

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((node) => kill(node)));
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const args = nodeArgs(port, dir, options.nodeTimeoutMs ?? 1000);
      nodes.push({ port, address: `127.0.0.1:${port}`, args, child: spawn('redis-server', args, { stdio: 'ignore' }) });
    }
    await Promise.all(nodes.map((node) => waitForPing(`redis://${node.address}`, node.child, 10_000)));
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    // A minute, not half: on a loaded 2-core machine (CI runs the e2e suite two files at a time, each
    // with a cluster of six) replicas took longer than 30 s to sync.
    await until(() => everyNodeOk(nodes), 'the cluster to agree on its slots', 60_000, 100);
    // Until a replica has synced, a failover would promote an empty node.
    await until(() => replicasInSync(nodes, masters * replicas), 'every replica to sync with its master', 60_000, 100);
  } catch (error) {
    await stop();
    throw error;
  }

  async function masterOf(key: string): Promise<string> {
    const live = nodes.find((n) => n.child.exitCode === null && n.child.signalCode === null)!;
    return withClient(live.address, async (client) => {
      const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
      const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (range === undefined) throw new Error(`no node serves slot ${slot}`);
      return `${range[2][0]}:${range[2][1]}`;
    });
  }

  return {
    nodes: nodes.map((n) => n.address),
    masterOf,
    async failover(key) {
      const address = await masterOf(key);
      const victim = nodes.find((n) => n.address === address)!;
      await kill(victim);
      const alive = nodes.filter((n) => n !== victim && n.child.exitCode === null && n.child.signalCode === null);
      await until(
        async () => {
          if (!(await everyNodeOk(alive))) return false;
          return (await masterOf(key)) !== address;
        },
        `a replica of ${address} to take its slots over`,
        30_000,
        100,
      );
      return address;
    },
    restart: (address) => rejoin(nodes, address, dir, masters * replicas),
    stop,
  };
}

/** The command line of one cluster node, its files in `dir`. */
function nodeArgs(port: number, dir: string, nodeTimeoutMs: number): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--dbfilename',
    `dump-${port}.rdb`,
    '--save',
    '',
    '--appendonly',
    'no',
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    `nodes-${port}.conf`,
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    // A replica takes over however long it was apart from its master: the test kills masters on purpose.
    '--cluster-replica-validity-factor',
    '0',
    // A replica's first sync starts at once, not after Redis's default 5 s wait for more replicas.
    '--repl-diskless-sync-delay',
    '0',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
}

/**
 * Brings a killed node back as an operator brings back a node that lost its data: forgotten by the
 * others, started with a fresh config, met, and made the replica of the master that has none.
 */
async function rejoin(nodes: Node[], address: string, dir: string, expectedReplicas: number): Promise<void> {
  const node = nodes.find((n) => n.address === address);
  if (node === undefined) throw new Error(`no node ${address} in this cluster`);
  if (node.child.exitCode === null && node.child.signalCode === null) return;
  const alive = nodes.filter((n) => n !== node && n.child.exitCode === null && n.child.signalCode === null);
  const seed = alive[0]!;
  // Who the old node was, and which master now serves its slots: the one that knows no replica.
  const table = parseNodes(await withClient(seed.address, (c) => c.call('CLUSTER', 'NODES') as Promise<string>));
  const oldId = table.find((n) => n.address === address)?.id;
  const orphan = table.find((n) => n.master && !n.failed && !table.some((r) => r.masterId === n.id && !r.failed));
  if (orphan === undefined) throw new Error(`no master without a replica to give ${address} to`);
  // Forgotten first, on every node at once (each bans the id for a minute): gossip about the old
  // node, at the same address, must not reach the new one.
  if (oldId !== undefined)
    await Promise.all(alive.map((n) => withClient(n.address, (c) => c.call('CLUSTER', 'FORGET', oldId)).catch(() => undefined)));
  rmSync(join(dir, `nodes-${node.port}.conf`), { force: true });
  node.child = spawn('redis-server', node.args, { stdio: 'ignore' });
  await waitForPing(`redis://${address}`, node.child, 10_000);
  await withClient(address, (c) => c.call('CLUSTER', 'MEET', '127.0.0.1', String(seed.port)));
  await until(
    () => withClient(address, async (c) => String(await c.call('CLUSTER', 'NODES')).includes(orphan.id)).catch(() => false),
    `${address} to meet the cluster`,
    30_000,
    100,
  );
  await withClient(address, (c) => c.call('CLUSTER', 'REPLICATE', orphan.id));
  await until(() => everyNodeOk(nodes), `${address} to rejoin the cluster`, 30_000, 100);
  await until(() => replicasInSync(nodes, expectedReplicas), `${address} to sync as a replica`, 30_000, 100);
}

function kill(node: Node): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    node.child.once('exit', () => resolve());
    node.child.kill('SIGKILL');
  });
}

async function withClient<T>(address: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(`redis://${address}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

/** The lines of `CLUSTER NODES` that restart() needs. */
function parseNodes(text: string): Array<{ id: string; address: string; master: boolean; failed: boolean; masterId: string }> {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', addr = '', flags = '', masterId = ''] = line.split(' ');
      return {
        id,
        address: addr.split('@')[0] ?? '',
        master: flags.split(',').includes('master'),
        failed: /fail|noaddr/.test(flags),
        masterId,
      };
    });
}

/** Whether every node says `cluster_state:ok` with all slots served. */
async function everyNodeOk(nodes: Node[]): Promise<boolean> {
  try {
    const infos = await Promise.all(nodes.map((n) => withClient(n.address, (c) => c.call('CLUSTER', 'INFO') as Promise<string>)));
    return infos.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384'));
  } catch {
    return false;
  }
}

/** Whether `count` replicas have their link to their master up. */
async function replicasInSync(nodes: Node[], count: number): Promise<boolean> {
  try {
    const infos = await Promise.all(nodes.map((n) => withClient(n.address, (c) => c.info('replication'))));
    return infos.filter((info) => info.includes('role:slave') && info.includes('master_link_status:up')).length === count;
  } catch {
    return false;
  }
}
