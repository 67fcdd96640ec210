import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '@tenantcast/testkit';
import { runCli } from '../support/cli.ts';
import { startReceiver } from '../support/receiver.ts';
import { startRelayStack } from '../support/stack.ts';

// The built CLI's webhooks and deliveries commands against a real relay delivering to a local receiver.

test('webhooks create|list|show|update|rotate|replay|delete and deliveries list|show|retry|retry-failed do what the relay’s API does', async (t) => {
  const { relay, close } = await startRelayStack({
    relay: { webhookAllowPrivate: true, webhookRetry4xx: false, webhookCircuitFailures: 1000 },
  });
  t.after(close);
  const tenant = 'cli-webhooks';
  const env = { TENANTCAST_URL: relay.url, TENANTCAST_TOKEN: await relay.token({ scope: 'admin publish', tenants: [tenant] }) };
  const cli = async (...args: string[]) => {
    const result = await runCli(args, env);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const json = async (...args: string[]) => JSON.parse(await cli(...args, '--json'));

  let broken = true;
  const receiver = await startReceiver(t, () => (broken ? { status: 400, body: 'not yet' } : { status: 204 }));

  const created = await json(
    'webhooks',
    'create',
    tenant,
    '--endpoint-url',
    receiver.url,
    '--type-prefix',
    'com.qlik.',
    '--description',
    'cli test',
  );
  assert.match(created.secret, /^whsec_/);
  assert.deepEqual(created.filters, [{ prefix: { type: 'com.qlik.' } }]);
  const id: string = created.id;
  assert.deepEqual(
    (await json('webhooks', 'list', tenant)).map((e: { id: string }) => e.id),
    [id],
  );
  assert.match(
    await cli('webhooks', 'list', tenant, '--no-json'),
    new RegExp(`^ID +STATE +URL +FILTERS +DESCRIPTION\n${id} +enabled +${receiver.url}`),
  );
  assert.equal((await json('webhooks', 'show', tenant, id)).secret, created.secret);

  for (const n of [1, 2]) {
    await cli(
      'publish',
      '--tenant',
      tenant,
      '--type',
      'com.qlik.web-integration.deleted',
      '--source',
      'cli',
      '--id',
      `w-${n}`,
      '--data',
      `{"id":"wi-${n}"}`,
    );
  }
  const failed = async () =>
    (await json('deliveries', 'list', tenant, id, '--status', 'failed')) as Array<{ id: string; lastError: string }>;
  await until(async () => (await failed()).length === 2, 'two failed deliveries');
  const [newest, oldest] = await failed();
  assert.equal(newest!.lastError, 'HTTP 400: not yet');
  const shown = await json('deliveries', 'show', tenant, id, oldest!.id);
  assert.deepEqual(
    shown.attemptLog.map((a: { status: number; responseBody: string }) => [a.status, a.responseBody]),
    [[400, 'not yet']],
  );
  assert.match(
    await cli('deliveries', 'show', tenant, id, oldest!.id, '--no-json'),
    /^id: +msg_cli-webhooks_\d+-\d+\n[\s\S]*AT +STATUS +DURATION MS/,
  );

  broken = false;
  assert.deepEqual(await json('deliveries', 'retry', tenant, id, oldest!.id), { id: oldest!.id, status: 'pending' });
  await until(
    () => receiver.deliveries.filter((d) => d.headers['webhook-id'] === oldest!.id).length === 2,
    'the retry, under the same webhook-id',
  );
  assert.deepEqual(await json('deliveries', 'retry-failed', tenant, id), { retried: 1 });
  await until(
    async () => (await json('deliveries', 'list', tenant, id, '--status', 'succeeded')).length === 2,
    'both deliveries to succeed',
  );
  assert.equal((await json('deliveries', 'list', tenant, id, '--limit', '1')).length, 1);

  const rotated = await json('webhooks', 'rotate', tenant, id, '--grace-seconds', '0');
  assert.match(rotated.secret, /^whsec_/);
  assert.notEqual(rotated.secret, created.secret);
  assert.equal((await json('webhooks', 'update', tenant, id, '--disable')).disabled, true);
  const enabled = await json('webhooks', 'update', tenant, id, '--enable', '--endpoint-url', `${receiver.url}?v=2`);
  assert.deepEqual([enabled.disabled, enabled.url, enabled.secret], [false, `${receiver.url}?v=2`, undefined]);
  const nothing = await runCli(['webhooks', 'update', tenant, id], env);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /error: nothing to change/);

  const before = receiver.deliveries.length;
  const replay = await json('webhooks', 'replay', tenant, id, '--after', '0');
  assert.equal(replay.enqueued + replay.merged, 2);
  assert.equal(replay.complete, true);
  await until(() => receiver.deliveries.length >= before + replay.enqueued, 'the replayed deliveries');

  assert.equal(await cli('webhooks', 'delete', tenant, id, '--no-json'), `deleted ${id}\n`);
  assert.deepEqual(await json('webhooks', 'list', tenant), []);
  const gone = await runCli(['webhooks', 'show', tenant, id], env);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^tenantcast: 404 TC_ERR_NOT_FOUND: /);
  const noLog = await runCli(['deliveries', 'list', tenant, id], env);
  assert.equal(noLog.code, 1);
  assert.match(noLog.stderr, /TC_ERR_NOT_FOUND/);
});
