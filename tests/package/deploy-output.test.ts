import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, makeEvent, publishOne, TEST_SECRET, testToken, uniqueTenant, useFixture, useRedisServer } from '@tenantcast/testkit';
import { root, spawnApp } from '../support/app-process.ts';
import { builtEntry, run, tempDir } from '../support/built.ts';

// What the Docker image runs: the Dockerfile's build stage makes one folder per app with
// `pnpm deploy --prod`, and the runtime stage runs `node <app>/dist/main.js` in it. This makes the
// same folders (from the build that scripts/test.sh ran) outside the workspace and runs them so.

const APPS = ['relay', 'gateway'] as const;

const redis = useRedisServer();
const fixture = useFixture('the deployed apps', async (onClose) => {
  const out = await tempDir('tenantcast-deploy-', onClose);
  const dirs = { relay: join(out, 'relay'), gateway: join(out, 'gateway') };
  for (const app of APPS) {
    builtEntry(app);
    await run('pnpm', ['--filter', `@tenantcast/${app}`, 'deploy', '--prod', dirs[app]], root);
  }
  return dirs;
});

/** Every package installed in a deployed folder, by name (pnpm's virtual store names them `name@version…`, scopes with `+`). */
async function installedPackages(dir: string): Promise<string[]> {
  const store = await readdir(join(dir, 'node_modules', '.pnpm'));
  return store.filter((entry) => entry.includes('@')).map((entry) => entry.replace(/^(@?[^@]+)@.*$/, '$1').replace('+', '/'));
}

for (const app of APPS) {
  test(`the ${app}'s deploy holds dist/, package.json and production dependencies only`, async () => {
    const dir = fixture[app];
    const top = (await readdir(dir)).filter((entry) => !entry.startsWith('pnpm-'));
    assert.deepEqual(top.sort(), ['dist', 'node_modules', 'package.json']);
    const packages = await installedPackages(dir);
    assert.ok(packages.includes('@tenantcast/sdk') && packages.includes('@tenantcast/server'), packages.join(' '));
    const dev =
      /^(typescript|@typescript\/.*|tsx|@biomejs\/.*|playwright-core|socket\.io.*|@socket\.io\/.*|esbuild|@esbuild\/.*|fast-check|@types\/.*|@tenantcast\/testkit|cloudevents)$/;
    assert.deepEqual(
      packages.filter((name) => dev.test(name)),
      [],
    );
    for (const workspacePackage of ['sdk', 'server']) {
      const files = await readdir(join(dir, 'node_modules', '@tenantcast', workspacePackage));
      assert.ok(!files.includes('src'), `@tenantcast/${workspacePackage} ships dist/ only: ${files}`);
    }
  });
}

test('the deployed relay and gateway run under plain node: ready, a publish comes back from history and over a WebSocket, SIGTERM exits 0', async (t) => {
  const env = { REDIS_URL: redis.redis.url, TENANTCAST_SECRET: TEST_SECRET, SHUTDOWN_TIMEOUT_MS: '2000' };
  const relay = await spawnApp('relay', env, undefined, join(fixture.relay, 'dist', 'main.js'));
  t.after(() => relay.kill());
  const gateway = await spawnApp('gateway', env, undefined, join(fixture.gateway, 'dist', 'main.js'));
  t.after(() => gateway.kill());
  for (const started of [relay, gateway]) assert.equal((await fetch(`${started.url}/readyz`)).status, 200);

  const tenant = uniqueTenant('deploy');
  const token = await testToken({ tenants: [tenant] });
  const client = await connect(t, `ws://127.0.0.1:${gateway.port}/v1/tenants/${tenant}/events`, { token });
  const event = makeEvent(tenant, { id: 'through-the-deploy' });
  const { offset } = await publishOne(relay.url, token, event);
  const history = await fetch(`${relay.url}/v1/tenants/${tenant}/events?after=0`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(history.status, 200);
  const { events } = (await history.json()) as { events: Array<{ offset: string; event: { id: string } }> };
  assert.deepEqual(
    events.map((e) => [e.offset, e.event.id]),
    [[offset, 'through-the-deploy']],
  );
  await client.receivedId('through-the-deploy');

  for (const started of [relay, gateway]) {
    started.child.kill('SIGTERM');
    assert.deepEqual(await started.exited, { code: 0, signal: null }, started.output());
  }
});
