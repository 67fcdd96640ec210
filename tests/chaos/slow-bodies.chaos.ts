import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { holdUpload } from '@tenantcast/relay/testing';
import { sleep, startRedisServer, TEST_SECRET, uniqueKeyPrefix, within } from '@tenantcast/testkit';
import { spawnApp } from '../support/app-process.ts';
import { figure } from '../support/scenarios.ts';

// Scenario 8 (issue #16, finding 1): 200 unauthenticated uploads, each declaring 1 MiB, sending all
// but its last byte, then stalling. Before the fix the relay buffered every body before checking a
// token and never timed a request out: its RSS grew by about 180 MiB and every connection stayed
// open. Now the token is checked before the body is read and a stalled request is cut, so the relay
// process (its RSS read from /proc) grows by less than 20 MiB and closes all 200 connections within
// its request timeout.

const UPLOADS = 200;
const MIB = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
/** The request timeout, Node's 1 s check interval, and a margin for a loaded machine. */
const CLOSED_WITHIN_MS = REQUEST_TIMEOUT_MS + 1000 + 4000;
const RSS_GROWTH_LIMIT_MIB = 20;

/** The resident set of process `pid`, in MiB (Linux's /proc/<pid>/status). */
function rssMiB(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.ok(kib !== undefined, `VmRSS of ${pid}`);
  return Number(kib) / 1024;
}

test('200 stalled unauthenticated 1 MiB uploads: the relay grows by < 20 MiB and closes them all within its timeout', {
  timeout: 60_000,
}, async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const relay = await spawnApp('relay', {
    REDIS_URL: redis.url,
    TENANTCAST_SECRET: TEST_SECRET,
    REDIS_KEY_PREFIX: uniqueKeyPrefix('slow-bodies'),
    WEBHOOK_DELIVERY: 'off',
    RELAY_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
  t.after(() => relay.kill());
  const pid = relay.child.pid!;

  // Warm up the paths a refusal takes (routing, the verifier, the error table), then let it settle.
  for (let n = 0; n < 20; n++) await (await fetch(`${relay.url}/v1/events`, { method: 'POST', body: 'x' })).text();
  await sleep(1000);
  const before = rssMiB(pid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 50);
  t.after(() => clearInterval(sampler));

  // One buffer for every upload: the sockets write it, they do not copy it.
  const body = Buffer.alloc(MIB - 1, 0x20);
  const uploads = Array.from({ length: UPLOADS }, () =>
    holdUpload(relay.url, { path: '/v1/events', headers: { 'content-type': 'application/cloudevents+json' }, contentLength: MIB }, body),
  );
  t.after(() => {
    for (const upload of uploads) upload.socket.destroy();
  });
  // Each upload's close, or -1 for one still open at the deadline; figures print either way.
  const closedAfter = await Promise.all(uploads.map((upload) => within(upload.closed, 'a close', CLOSED_WITHIN_MS).catch(() => -1)));
  // Memory freed late would show here: keep sampling a moment after the last close.
  await sleep(1000);
  clearInterval(sampler);
  const after = rssMiB(pid);
  const stillOpen = closedAfter.filter((ms) => ms === -1).length;

  figure('slow-bodies.rss-before-mib', before.toFixed(1));
  figure('slow-bodies.rss-peak-mib', peak.toFixed(1));
  figure('slow-bodies.rss-after-mib', after.toFixed(1));
  figure('slow-bodies.slowest-close-ms', Math.max(...closedAfter));
  figure('slow-bodies.open-at-deadline', stillOpen);
  assert.equal(stillOpen, 0, `${stillOpen} of ${UPLOADS} stalled uploads still open ${CLOSED_WITHIN_MS} ms after they were sent`);
  assert.ok(
    peak - before < RSS_GROWTH_LIMIT_MIB,
    `the relay's RSS grew by ${(peak - before).toFixed(1)} MiB (${before.toFixed(1)} -> peak ${peak.toFixed(1)}), over ${RSS_GROWTH_LIMIT_MIB}`,
  );
  assert.ok(relay.child.exitCode === null, 'the relay is still up');
  const ready = await fetch(`${relay.url}/readyz`);
  assert.equal(ready.status, 200);
});
