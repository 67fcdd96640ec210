import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { test } from 'node:test';
import { configFromEnv, loadConfig } from '@tenantcast/relay/config';
import { mintToken } from '@tenantcast/sdk/tokens';
import { sleep, startRedisServer, TEST_SECRET, uniqueKeyPrefix, uniqueTenant } from '@tenantcast/testkit';
import { spawnApp } from '../support/app-process.ts';
import { type FloodReport, startFlood } from '../support/batch-flood.ts';
import { figure } from '../support/scenarios.ts';

// Scenario 8: a noisy neighbour at ingest (issue #16, finding 4). The relay runs with its default
// limits, in a process of its own. Tenant B publishes single events at a steady 50 a second, while
// tenant A, in stretches that alternate with quiet ones, sends the largest batches the limits allow
// (as many events as RELAY_MAX_BATCH_EVENTS, padded to RELAY_MAX_BATCH_BYTES) on several
// connections, as fast as its rate limit lets it: paced to the limit, and waiting for Retry-After
// when refused. B's p99 under A's load must stay within 3x of its quiet p99.
//
// The limits' variables (RATE_LIMIT_EVENTS_PER_SECOND, RELAY_MAX_BATCH_EVENTS, RELAY_MAX_BATCH_BYTES,
// RELAY_BODY_LIMIT_BYTES) are passed from this process's environment to the relay, so the same run
// can be made with other limits; with the defaults before #16 it fails:
//   RATE_LIMIT_EVENTS_PER_SECOND=1000000 RELAY_MAX_BATCH_EVENTS=1000000 RELAY_MAX_BATCH_BYTES=1048576 \
//     pnpm exec tsx --test tests/chaos/noisy-ingest.chaos.ts
// NOISY_HOSTILE=true makes A send back to back and ignore Retry-After (figures in docs/RELIABILITY.md).

const LIMIT_VARIABLES = ['RATE_LIMIT_EVENTS_PER_SECOND', 'RELAY_MAX_BATCH_EVENTS', 'RELAY_MAX_BATCH_BYTES', 'RELAY_BODY_LIMIT_BYTES'];
/** B's steady rate: one single-event publish every 20 ms. */
const B_INTERVAL_MS = 20;
/** B's time quiet, and as long under A's load: 500 samples each at 50 a second, so each p99 is the 5th slowest. */
const MEASURE_MS = 10_000;
/** Quiet and loaded stretches alternate this many times. */
const ROUNDS = 5;
const WARMUP_MS = 2_000;
/** A's connections, each with one batch in flight. */
const A_CONCURRENCY = 4;
/**
 * The quiet p99 is taken as at least this: on two cores a single-event publish answers in 2-5 ms,
 * and 3x of a 2 ms p99 is within the jitter of one scheduler tick or GC pause of any of the four
 * processes (relay, Redis, A's load, B); the floor keeps the bound meaningful (a request that waits
 * behind a batch of 1,000 events of 1 KiB takes 25 ms or more) without failing on noise.
 */
const QUIET_FLOOR_MS = 5;
const BOUND = 3;

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]!;
}

/** Publishes single events of `tenant` every B_INTERVAL_MS for `ms`, each on its own schedule; resolves with their latencies. */
interface Sample {
  latencies: number[];
  failures: string[];
}

function add(into: Sample, from: Sample): void {
  into.latencies.push(...from.latencies);
  into.failures.push(...from.failures);
}

async function steadyPublisher(url: string, token: string, tenant: string, ms: number, agent: Agent): Promise<Sample> {
  const latencies: number[] = [];
  const failures: string[] = [];
  const pending: Promise<void>[] = [];
  const started = performance.now();
  for (let n = 0; performance.now() - started < ms; n++) {
    const due = started + n * B_INTERVAL_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const body = JSON.stringify({
      specversion: '1.0',
      id: `b-${process.pid}-${Date.now()}-${n}`,
      source: '/b',
      type: 'b',
      tenantid: tenant,
    });
    const sent = performance.now();
    pending.push(
      new Promise<void>((resolve) => {
        const req = request(
          new URL('/v1/events', url),
          { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' } },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode === 202) latencies.push(performance.now() - sent);
              else failures.push(String(res.statusCode));
              resolve();
            });
          },
        );
        req.on('error', (error) => {
          failures.push(error.message);
          resolve();
        });
        req.end(body);
      }),
    );
  }
  await Promise.all(pending);
  return { latencies, failures };
}

test("noisy neighbour: one tenant's largest batches keep another tenant's single-event p99 within 3x of quiet", {
  timeout: 60_000,
}, async (t) => {
  const hostile = process.env.NOISY_HOSTILE === 'true';
  const limits: Record<string, string> = {};
  for (const name of LIMIT_VARIABLES) if (process.env[name] !== undefined) limits[name] = process.env[name]!;
  const config = loadConfig(configFromEnv({ TENANTCAST_SECRET: TEST_SECRET, ...limits }));

  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const relay = await spawnApp('relay', {
    REDIS_URL: redis.url,
    TENANTCAST_SECRET: TEST_SECRET,
    REDIS_KEY_PREFIX: uniqueKeyPrefix(),
    ...limits,
  });
  t.after(() => relay.kill());

  const a = uniqueTenant('noisy-a');
  const b = uniqueTenant('noisy-b');
  const tokenA = await mintToken({ sub: 'a', scope: 'publish', tenants: [a] }, TEST_SECRET);
  const tokenB = await mintToken({ sub: 'b', scope: 'publish', tenants: [b] }, TEST_SECRET);

  figure('noisy-ingest.limits', `rate=${config.rateLimitPerSecond}/s batch=${config.maxBatchEvents} events, ${config.maxBatchBytes} bytes`);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  t.after(() => agent.destroy());
  // The largest batch the limits allow: as many events as the cap, padded to the bytes a write may
  // take (and within the body limit: 2 % left for the brackets and commas).
  const maxBytes = Math.min(config.maxBatchBytes, Math.floor(config.bodyLimit * 0.98));
  const flood = await startFlood({
    url: relay.url,
    token: tokenA,
    tenant: a,
    maxEvents: config.maxBatchEvents,
    maxBytes,
    concurrency: A_CONCURRENCY,
    // One batch per its share of A's limit, as a tenant pacing itself to the limit (and each
    // connection waits for Retry-After when refused); NOISY_HOSTILE=true sends back to back instead,
    // ignoring Retry-After, as a hostile client would (see docs/RELIABILITY.md for what that costs).
    ...(hostile ? { ignoreRetryAfter: true } : { eventsPerSecond: config.rateLimitPerSecond }),
  });
  let report: FloodReport | undefined;
  t.after(async () => {
    report ??= await flood.stop();
  });
  figure('noisy-ingest.a-batch', `${flood.batch.events} events of ${flood.batch.eventBytes} bytes`);

  await steadyPublisher(relay.url, tokenB, b, WARMUP_MS, agent);
  // Quiet and loaded stretches take turns, so that other work on the machine weighs on both alike.
  const quiet: Sample = { latencies: [], failures: [] };
  const loaded: Sample = { latencies: [], failures: [] };
  for (let round = 0; round < ROUNDS; round++) {
    add(quiet, await steadyPublisher(relay.url, tokenB, b, MEASURE_MS / ROUNDS, agent));
    flood.resume();
    add(loaded, await steadyPublisher(relay.url, tokenB, b, MEASURE_MS / ROUNDS, agent));
    await flood.pause();
  }
  report = await flood.stop();

  const quietP99 = p99(quiet.latencies);
  const loadedP99 = p99(loaded.latencies);
  const bound = BOUND * Math.max(quietP99, QUIET_FLOOR_MS);
  figure('noisy-ingest.b-quiet-p99-ms', quietP99.toFixed(1));
  figure('noisy-ingest.b-loaded-p99-ms', loadedP99.toFixed(1));
  figure('noisy-ingest.b-quiet-max-ms', Math.max(...quiet.latencies).toFixed(1));
  figure('noisy-ingest.b-loaded-max-ms', Math.max(...loaded.latencies).toFixed(1));
  figure('noisy-ingest.a-answers', JSON.stringify(report.statuses));
  figure('noisy-ingest.a-events-per-second', Math.round(report.acceptedEvents / (MEASURE_MS / 1000)));

  assert.deepEqual(quiet.failures, [], 'B is never refused while quiet');
  assert.deepEqual(loaded.failures, [], "B is never refused under A's load");
  assert.ok((report.statuses['202'] ?? 0) > 0, `A's batches were stored: ${JSON.stringify(report.statuses)}`);
  assert.ok(
    loadedP99 <= bound,
    `B's p99 under A's load is ${loadedP99.toFixed(1)} ms, over ${BOUND}x its quiet p99 (${quietP99.toFixed(1)} ms, floor ${QUIET_FLOOR_MS} ms): ${bound.toFixed(1)} ms`,
  );
});
