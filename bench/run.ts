/**
 * `pnpm bench`: tenantcast side by side with its peer (Socket.IO + @socket.io/redis-streams-adapter)
 * and the ceiling of each measure, on this machine. Prints a table and writes
 * bench/results/latest.json. Not part of the tests or CI. See BENCHMARKS.md.
 *
 *   pnpm bench                      every scenario, a warm-up and 3 runs each (about 11 minutes)
 *   pnpm bench -- --quick           smaller counts, one run
 *   pnpm bench -- --only fanout     one scenario (or several, comma-separated)
 *   pnpm bench -- --only cluster    ingest and fan-out on a local Redis Cluster (3 masters, 3 replicas) vs one redis-server
 *   pnpm bench -- --only deliverylog   the webhook delivery log with 100,000 deliveries of one endpoint
 *   pnpm bench -- --runs 5          more runs
 *   pnpm bench -- --profile         CPU profiles of the servers under test in bench/results/profiles
 *   pnpm bench -- --only latency --hops        latency split into hops (publish → notification → client)
 *   pnpm bench -- --only latency --cases 200x5 --targets post,socketio   a part of the latency scenario
 *   pnpm bench -- --only fanout --targets tenantcast,ws --cases 2000   a part of a scenario (sse: the gateway over Server-Sent Events)
 *   pnpm bench -- --only fanout --baseline ../tenantcast-before      A/B: that checkout's gateway too
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { stopAll } from './lib/cleanup.ts';
import { fmtBytes, fmtMs, fmtRate, fmtRatio, renderTable } from './lib/format.ts';
import { backgroundLoad, machine } from './lib/machine.ts';
import { RESULTS_DIR } from './lib/paths.ts';
import { type BenchContext, DISTURBED_CORES, otherLoad, type Row, type Scenario } from './lib/types.ts';
import { cluster } from './scenarios/cluster.ts';
import { deliverylog } from './scenarios/deliverylog.ts';
import { fanout } from './scenarios/fanout.ts';
import { ingest } from './scenarios/ingest.ts';
import { latency } from './scenarios/latency.ts';
import { memory } from './scenarios/memory.ts';
import { resume } from './scenarios/resume.ts';
import { webhooks } from './scenarios/webhooks.ts';

const SCENARIOS: Scenario[] = [ingest, fanout, memory, latency, resume, webhooks, deliverylog, cluster];

function usage(): never {
  console.log(
    `usage: pnpm bench [-- [--quick] [--only ${SCENARIOS.map((s) => s.id).join(',')}] [--runs N] [--profile] [--hops] [--targets tenantcast,socketio,ws|post,sdk,store] [--cases ID-PART,…] [--baseline DIR]]`,
  );
  process.exit(2);
}

interface Options {
  quick: boolean;
  only: string[] | undefined;
  runs: number | undefined;
  profile: boolean;
  hops: boolean;
  targets: string[] | undefined;
  cases: string[] | undefined;
  baseline: string | undefined;
}

function parseArgs(argv: string[]): Options {
  let quick = false;
  let targets: string[] | undefined;
  let cases: string[] | undefined;
  let profile = false;
  let hops = false;
  let only: string[] | undefined;
  let runs: number | undefined;
  let baseline: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    if (arg === '--quick') quick = true;
    else if (arg === '--profile') profile = true;
    else if (arg === '--hops') hops = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!value) usage();
      only = [...(only ?? []), ...value.split(',').map((s) => s.trim())];
    } else if (arg === '--runs' || arg.startsWith('--runs=')) {
      runs = Number(arg === '--runs' ? argv[++i] : arg.slice('--runs='.length));
      if (!Number.isInteger(runs) || runs < 1) usage();
    } else if (arg === '--targets') targets = (argv[++i] ?? '').split(',');
    else if (arg === '--cases') cases = (argv[++i] ?? '').split(',');
    else if (arg === '--baseline') {
      baseline = argv[++i];
      if (!baseline || !existsSync(join(baseline, 'apps/gateway/src/main.ts'))) {
        console.error(
          `--baseline needs a checkout of tenantcast with its dependencies installed (no apps/gateway/src/main.ts in ${baseline})`,
        );
        usage();
      }
      baseline = resolve(baseline);
    } else if (arg === '--help' || arg === '-h') usage();
    else {
      console.error(`unknown argument ${arg}`);
      usage();
    }
  }
  for (const id of only ?? []) {
    if (!SCENARIOS.some((s) => s.id === id)) {
      console.error(`unknown scenario ${id}`);
      usage();
    }
  }
  return { quick, only, runs, profile, hops, targets, cases, baseline };
}

function cell(row: Row, which: 'tenantcast' | 'peer' | 'ceiling'): string {
  const text = row.text?.[which];
  if (text !== undefined) return text;
  const value = row[which];
  if (value === undefined) return '';
  switch (row.unit) {
    case 'rate':
      return fmtRate(value);
    case 'bytes':
      return fmtBytes(value);
    default:
      return fmtMs(value);
  }
}

function table(rows: Row[], markdown: boolean): string {
  return renderTable(
    ['measure', 'tenantcast', 'Socket.IO peer', 'ceiling', 'vs peer', 'vs ceiling', 'target', 'met'],
    rows.map((r) => [
      r.disturbed ? `${r.measure} *` : r.measure,
      cell(r, 'tenantcast'),
      cell(r, 'peer'),
      r.ceilingName && r.ceiling !== undefined ? `${cell(r, 'ceiling')} (${r.ceilingName})` : cell(r, 'ceiling'),
      r.text?.peerRatio ?? (r.peerRatio === undefined ? '' : fmtRatio(r.peerRatio)),
      r.ceilingRatio === undefined ? '' : fmtRatio(r.ceilingRatio),
      r.target ?? '',
      r.met === undefined || r.met === null ? '' : r.met ? 'yes' : 'NO',
    ]),
    markdown,
  );
}

const options = parseArgs(process.argv.slice(2));
const started = Date.now();
const runs = options.runs ?? (options.quick ? 1 : 3);
const selected = SCENARIOS.filter((s) => options.only === undefined || options.only.includes(s.id));
const env = machine();

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const ctx: BenchContext = {
  quick: options.quick,
  runs,
  profile: options.profile,
  hops: options.hops,
  ...(options.targets ? { targets: options.targets } : {}),
  ...(options.cases ? { cases: options.cases } : {}),
  ...(options.baseline ? { baseline: options.baseline } : {}),
  log: (message) => console.log(`[${elapsed()}] ${message}`),
};

process.on('SIGINT', () => {
  console.log('\ninterrupted: stopping every process the benchmark started');
  void stopAll().finally(() => process.exit(130));
});

console.log(
  `tenantcast benchmarks${options.quick ? ' (quick)' : ''}: ${selected.map((s) => s.id).join(', ')}; a warm-up and ${runs} run(s) per case, median quoted`,
);
console.log(
  `machine: ${env.cores} cores (${env.cpu}), ${env.memoryGiB} GiB, Node ${env.node}, Redis ${env.redis}, ${env.os}, ulimit -n ${env.openFiles}`,
);

const rows: Row[] = [];
const scenarios: Record<string, unknown> = {};
let failures = 0;
const loads: Record<string, number> = {};
for (const scenario of selected) {
  console.log(`\n== ${scenario.id}: ${scenario.title}`);
  const load = await backgroundLoad();
  loads[scenario.id] = load;
  if (load > 0.15) {
    console.log(
      `warning: before this scenario the machine was ${Math.round(load * 100)}% busy with other work (load average ${os.loadavg()[0]!.toFixed(1)}): its numbers will be low`,
    );
  }
  const t0 = Date.now();
  otherLoad.max = 0;
  try {
    const output = await scenario.run(ctx);
    // Rows that know which runs were theirs (fan-out cases) say so themselves.
    if (otherLoad.max > DISTURBED_CORES) for (const row of output.rows) row.disturbed ??= true;
    rows.push(...output.rows);
    scenarios[scenario.id] = { title: scenario.title, seconds: (Date.now() - t0) / 1000, rows: output.rows, details: output.details };
    console.log(table(output.rows, false));
  } catch (error) {
    failures++;
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`scenario ${scenario.id} failed: ${message}`);
    scenarios[scenario.id] = { title: scenario.title, seconds: (Date.now() - t0) / 1000, error: message };
  } finally {
    await stopAll();
  }
}

const finished = Date.now();
const result = {
  version: 1,
  startedAt: new Date(started).toISOString(),
  finishedAt: new Date(finished).toISOString(),
  durationSeconds: Math.round((finished - started) / 1000),
  machine: env,
  /** Share of all cores busy with other work, sampled for 1 s before each scenario. */
  backgroundLoad: loads,
  options: { quick: options.quick, runs, only: options.only ?? null, profile: options.profile, baseline: options.baseline ?? null },
  rows,
  scenarios,
};
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(RESULTS_DIR, 'latest.md'), `${table(rows, true)}\n`);

console.log(`\n== results (${result.durationSeconds} s; ratios are tenantcast ÷ the other: for memory and time, lower is better)`);
console.log(table(rows, false));
if (rows.some((r) => r.disturbed)) {
  console.log(
    `* other work on the machine took more than ${DISTURBED_CORES} of a core during some run of this measure (cpu.other in latest.json): it is low; run again on a quiet machine`,
  );
}
console.log(`\nwrote bench/results/latest.json and bench/results/latest.md${failures ? `; ${failures} scenario(s) failed` : ''}`);
process.exit(failures ? 1 : 0);
