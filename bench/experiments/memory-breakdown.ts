/**
 * Where an idle connection's memory goes: starts a server as `pnpm bench` does (the gateway, the
 * Socket.IO peer or the bare ws server), connects idle clients of one tenant from load processes,
 * has the server write V8 heap snapshots (node --heapsnapshot-signal) before and after, and prints
 * the object kinds that grew, per connection. Heap snapshots collect garbage first: live objects only.
 *
 *   npx tsx bench/experiments/memory-breakdown.ts [tenantcast|socketio|ws] [clients]
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { stopAll } from '../lib/cleanup.ts';
import { ClientPool } from '../lib/clients.ts';
import { sleep } from '../lib/clock.ts';
import { fmtBytes } from '../lib/format.ts';
import { RESULTS_DIR } from '../lib/paths.ts';
import { startRedis } from '../lib/redis.ts';
import { startTarget, type TargetKind } from '../lib/targets.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count by object kind (constructor or type). */
function summarize(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const byKind = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = snap.strings[snap.nodes[i + nameAt]!]!;
    const kind = type === 'object' || type === 'closure' ? `${type} ${name}` : type;
    const entry = byKind.get(kind) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += snap.nodes[i + sizeAt]!;
    byKind.set(kind, entry);
  }
  return byKind;
}

async function snapshot(pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(500);
    const fresh = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    // The file is complete once its size stops changing.
    if (fresh.length > 0) {
      const file = join(dir, fresh[0]!);
      // Complete once it is not empty, its size holds for a second, and the JSON is closed.
      let last = -1;
      while (true) {
        const size = statSync(file).size;
        if (size > 0 && size === last && readFileSync(file, 'latin1').trimEnd().endsWith('}')) return file;
        last = size;
        await sleep(1000);
      }
    }
  }
  throw new Error('no heap snapshot');
}

const kind = (process.argv[2] ?? 'tenantcast') as TargetKind;
const clients = Number(process.argv[3] ?? 10_000);
const dir = join(RESULTS_DIR, 'heap');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const redis = await startRedis();
try {
  const target = await startTarget(kind, redis.url, {
    label: `memory-breakdown-${kind}`,
    profile: false,
    nodeFlags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
  });
  const url = target.url('mem');
  const connectOptions = { protocol: target.protocol, ...(target.token ? { token: target.token } : {}), timeoutMs: 30_000 };
  const pool = await ClientPool.start(2);
  // A few clients first, so that the first snapshot holds the code paths a connection uses.
  await pool.connect(Array(10).fill(url), { ...connectOptions, concurrency: 10 });
  await sleep(2000);
  const rss0 = target.rss();
  const before = summarize(await snapshot(target.pid, dir));
  const connected = await pool.connect(Array(clients).fill(url), { ...connectOptions, concurrency: 50 });
  await sleep(3000);
  const rss1 = target.rss();
  const after = summarize(await snapshot(target.pid, dir));
  const n = connected.connected;
  const rows = [...after].map(([kind, a]) => {
    const b = before.get(kind) ?? { count: 0, size: 0 };
    return { kind, count: (a.count - b.count) / n, size: (a.size - b.size) / n };
  });
  const heap = rows.reduce((s, r) => s + r.size, 0);
  console.log(`${n} idle connections: RSS ${fmtBytes((rss1 - rss0) / n)} per connection, of which V8 heap objects ${fmtBytes(heap)}`);
  console.log('per connection, by kind (self size):');
  for (const r of rows.sort((x, y) => y.size - x.size).slice(0, 40)) {
    console.log(`${fmtBytes(r.size).padStart(9)}  ${r.count.toFixed(2).padStart(6)} ×  ${r.kind}`);
  }
} finally {
  await stopAll();
  await redis.stop();
}
