import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyToken } from '@tenantcast/sdk/tokens';
import { until, useFixture } from '@tenantcast/testkit';
import { tempDir } from '../support/built.ts';
import { runCli, spawnCli } from '../support/cli.ts';
import { useStack } from '../support/stack.ts';

// The built CLI against a real relay, gateway and redis-server: mint → publish a file of 1,000
// events (and again: duplicates; with bad lines: refusals with reasons) → tail receives them in
// order → history pages through them; exit codes 0, 1 and 2 as docs/cli.md says.

const stack = useStack({ relay: { rateLimitPerSecond: 0 } });
const temp = useFixture('a temporary folder', async (onClose) => ({ dir: await tempDir('tenantcast-cli-', onClose) }));
const tenant = 'cli-events';
const env: Record<string, string> = {};

const event = (id: string) => ({
  specversion: '1.0',
  id,
  source: 'cli-test',
  type: 'com.qlik.web-integration.deleted',
  tenantid: tenant,
  data: { id },
});
const ids = Array.from({ length: 1000 }, (_, i) => `e-${String(i).padStart(4, '0')}`);

test('token mint signs with TENANTCAST_SECRET what the flags say; without the secret it is a usage error (2)', async () => {
  const secret = stack.relay.config.secret;
  const minted = await runCli(
    ['token', 'mint', '--scope', 'publish,subscribe', '--tenants', tenant, '--expires-in', '10m', '--sub', 'cli-e2e'],
    {
      TENANTCAST_SECRET: secret,
    },
  );
  assert.equal(minted.code, 0, minted.stderr);
  const token = minted.stdout.trim();
  const claims = await verifyToken(token, secret);
  assert.deepEqual([claims.sub, [...claims.scopes], claims.tenants], ['cli-e2e', ['publish', 'subscribe'], new Set([tenant])]);
  assert.equal(claims.exp! - claims.iat!, 600);
  Object.assign(env, { TENANTCAST_URL: stack.relay.url, TENANTCAST_GATEWAY_URL: stack.gateway.url, TENANTCAST_TOKEN: token });

  const missing = await runCli(['token', 'mint', '--scope', 'publish', '--tenants', tenant]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /error: TENANTCAST_SECRET is not set/);
  assert.match(missing.stderr, /Usage: tenantcast token mint/);
  assert.equal(missing.stdout, '');
  const badScope = await runCli(['token', 'mint', '--scope', 'write', '--tenants', tenant], { TENANTCAST_SECRET: secret });
  assert.equal(badScope.code, 2);
  assert.match(badScope.stderr, /Unknown scope "write"/);
});

test('publish a file of 1,000 events while tail follows: exact counts, duplicates the second time, refusals with reasons, tail in order', async (t) => {
  const lines = ids.map((id) => JSON.stringify(event(id)));
  lines.splice(9, 0, '{"specversion":"1.0", not json');
  lines.splice(499, 0, JSON.stringify({ ...event('bad-data'), data: { id: 5 } }));
  lines.push('["not", "an", "object"]');
  const file = join(temp.dir, 'events.ndjson');
  await writeFile(file, `${lines.join('\n')}\n`);

  const tail = spawnCli(['tail', tenant, '--json'], env);
  t.after(() => tail.child.kill('SIGKILL'));
  await until(() => tail.stderr().includes(`tailing ${tenant} (live)`), 'tail to be subscribed');

  const first = await runCli(['publish', file, '--json'], env);
  assert.equal(first.code, 1, 'events were refused: exit code 1');
  const summary = JSON.parse(first.stdout);
  assert.deepEqual(
    { ...summary, refused: summary.refused.map((r: { line: number; code: string }) => [r.line, r.code]) },
    {
      read: 1003,
      accepted: 1000,
      duplicates: 0,
      refused: [
        [10, 'TC_ERR_INVALID_JSON'],
        [500, 'TC_ERR_VALIDATION'],
        [1003, 'TC_ERR_VALIDATION'],
      ],
    },
  );
  assert.match(summary.refused[1].reason, /\/data\/id/);
  assert.match(summary.refused[2].reason, /not a JSON object/);
  assert.doesNotMatch(first.stderr, /\[#/, 'no progress bar when stderr is not a terminal');

  const again = await runCli(['publish', file, '--no-json'], env);
  assert.equal(again.code, 1);
  const [counts, ...reasons] = again.stdout.trimEnd().split('\n');
  assert.equal(counts, 'read 1003: accepted 0, duplicates 1000, refused 3');
  assert.equal(reasons.length, 3);
  assert.match(reasons[0]!, /^ {2}line 10: TC_ERR_INVALID_JSON: not valid JSON/);
  assert.match(reasons[1]!, /^ {2}line 500: TC_ERR_VALIDATION: .*\/data\/id/);
  assert.match(reasons[2]!, /^ {2}line 1003: TC_ERR_VALIDATION: not a JSON object/);

  const received = () => tail.stdout().split('\n').filter(Boolean);
  await until(() => received().length >= 1000, 'tail to print 1,000 events');
  const events = received().map((line) => JSON.parse(line) as { id: string; relayoffset: string; data: unknown });
  assert.deepEqual(
    events.map((e) => e.id),
    ids,
    'every event once, in publish order (the duplicates were not stored again)',
  );
  assert.deepEqual(events[0]!.data, { id: ids[0] });
  tail.child.kill('SIGINT');
  const exit = await tail.exited;
  assert.equal(exit.code, 0, tail.stderr());
  const last = events.at(-1)!.relayoffset;
  assert.match(tail.stderr(), new RegExp(`last offset: ${last} \\(resume with --after ${last}\\)`));

  // The printed offset resumes: tail --after it gets what was published since, and nothing before.
  const one = await runCli(
    [
      'publish',
      '--tenant',
      tenant,
      '--type',
      'com.qlik.web-integration.deleted',
      '--source',
      'cli-test',
      '--id',
      'later-1',
      '--data',
      '{"id":"wi-later"}',
      '--no-json',
    ],
    env,
  );
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^stored later-1 at \d+-\d+\n$/);
  const resumed = spawnCli(['tail', tenant, '--after', last, '--type-prefix', 'com.qlik.web-integration.', '--no-json'], env);
  t.after(() => resumed.child.kill('SIGKILL'));
  await until(() => resumed.stdout().includes('later-1'), 'the resumed tail to print the later event');
  resumed.child.kill('SIGINT');
  assert.equal((await resumed.exited).code, 0);
  const printed = resumed.stdout().trimEnd().split('\n');
  assert.equal(printed.length, 1);
  assert.match(printed[0]!, /^\d+-\d+ {2}\S+ {2}com\.qlik\.web-integration\.deleted {2}cli-test {2}later-1 {2}\{"id":"wi-later"\}$/);
});

test('publish reads stdin, NDJSON or a JSON array, with --tenant and --source for events that lack them; exit 0 when all are stored', async () => {
  const bare = (id: string) => ({ id, type: 'com.qlik.web-integration.deleted', data: { id } });
  const array = await runCli(
    ['publish', '--tenant', tenant, '--source', 'cli-stdin', '--json'],
    env,
    JSON.stringify([bare('s-1'), bare('s-2')]),
  );
  assert.equal(array.code, 0, array.stderr);
  assert.deepEqual(JSON.parse(array.stdout), { read: 2, accepted: 2, duplicates: 0, refused: [] });
  const ndjson = await runCli(
    ['publish', '-', '--tenant', tenant, '--source', 'cli-stdin', '--json'],
    env,
    `${JSON.stringify(bare('s-2'))}\n\n${JSON.stringify(bare('s-3'))}`,
  );
  assert.equal(ndjson.code, 0, ndjson.stderr);
  assert.deepEqual(JSON.parse(ndjson.stdout), { read: 2, accepted: 1, duplicates: 1, refused: [] });
});

test('history pages through every stored event in order; --limit stops and says where to go on', async () => {
  const all = await runCli(['history', tenant, '--json'], env);
  assert.equal(all.code, 0, all.stderr);
  const events = all.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { id: string; relayoffset: string });
  assert.deepEqual(
    events.map((e) => e.id),
    [...ids, 'later-1', 's-1', 's-2', 's-3'],
    'more than one page of 1,000',
  );
  const some = await runCli(['history', tenant, '--after', events[1]!.relayoffset, '--limit', '3', '--json'], env);
  assert.equal(some.code, 0, some.stderr);
  assert.deepEqual(
    some.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line).id),
    ids.slice(2, 5),
  );
  assert.match(some.stderr, new RegExp(`go on with --after ${events[4]!.relayoffset}`));
});

test('exit codes: 2 for usage with the help text, 1 for a refusal with its TC_ERR code, 0 for --help', async () => {
  const usage: Array<[string[], RegExp, Record<string, string>]> = [
    [['nope'], /unknown command 'nope'[\s\S]*Usage: tenantcast/, env],
    [['history', tenant, '--bogus'], /unknown option '--bogus'[\s\S]*Usage: tenantcast history/, env],
    [['tail'], /missing required argument 'tenant'[\s\S]*Usage: tenantcast tail/, env],
    [['history', tenant, '--limit', 'many'], /--limit <n>' argument 'many' is invalid/, env],
    [['history', tenant], /error: no token: pass --token or set TENANTCAST_TOKEN/, { TENANTCAST_URL: env.TENANTCAST_URL! }],
    [['webhooks'], /Usage: tenantcast webhooks/, env],
  ];
  for (const [args, stderr, withEnv] of usage) {
    const result = await runCli(args, withEnv);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, stderr);
  }

  const refused: Array<[string[], RegExp]> = [
    [['history', 'other-tenant'], /^tenantcast: 403 TC_ERR_FORBIDDEN_TENANT: /],
    [['history', tenant, '--after', 'yesterday'], /^tenantcast: 400 TC_ERR_BAD_OFFSET: /],
    [['tail', 'other-tenant'], /^tenantcast: .*TC_ERR_FORBIDDEN_TENANT/m],
    [
      ['publish', '--tenant', 'other-tenant', '--type', 'x.y', '--source', 's', '--data', '{}'],
      /^tenantcast: 403 TC_ERR_FORBIDDEN_TENANT: /,
    ],
  ];
  for (const [args, stderr] of refused) {
    const result = await runCli(args, env);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, stderr);
  }

  const commands = [[], ['token'], ['token', 'mint'], ['publish'], ['tail'], ['history'], ['webhooks'], ['deliveries']];
  for (const sub of ['list', 'show', 'create', 'update', 'rotate', 'delete', 'replay']) commands.push(['webhooks', sub]);
  for (const sub of ['list', 'show', 'retry', 'retry-failed']) commands.push(['deliveries', sub]);
  for (const command of commands) {
    const help = await runCli([...command, '--help']);
    assert.equal(help.code, 0, command.join(' '));
    assert.match(help.stdout, new RegExp(`^Usage: tenantcast${command.map((c) => ` ${c}`).join('')}`));
  }
});
