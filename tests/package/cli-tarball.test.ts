import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyToken } from '@tenantcast/sdk/tokens';
import { useFixture } from '@tenantcast/testkit';
import { root } from '../support/app-process.ts';
import { plainEnv, run, tempDir } from '../support/built.ts';

// The CLI as its users get it: the SDK's and the CLI's tarballs packed by pnpm (prepack builds them;
// the CLI's manifest then names the SDK's version instead of workspace:*), installed globally with
// npm into a temporary prefix outside the workspace, and run from there by its bin.

const fixture = useFixture('the CLI installed globally from its tarball', async (onClose) => {
  const dir = await tempDir('tenantcast-cli-', onClose);
  await run('pnpm', ['pack', '--pack-destination', dir], join(root, 'packages', 'sdk'));
  await run('pnpm', ['pack', '--pack-destination', dir], join(root, 'packages', 'cli'));
  const tarballs = (await readdir(dir)).filter((f) => f.endsWith('.tgz')).sort();
  assert.deepEqual(tarballs, ['tenantcast-cli-0.1.0.tgz', 'tenantcast-sdk-0.1.0.tgz']);
  const prefix = join(dir, 'prefix');
  await run(
    'npm',
    ['install', '--global', '--prefix', prefix, ...tarballs.map((t) => join(dir, t)), '--no-audit', '--no-fund', '--prefer-offline'],
    dir,
  );
  return { dir, bin: join(prefix, 'bin', 'tenantcast'), cli: join(prefix, 'lib', 'node_modules', '@tenantcast', 'cli') };
});

test('the tarball ships bin/, dist/ (JavaScript only), README.md and a manifest that depends on the SDK by version', async () => {
  const { cli } = fixture;
  assert.deepEqual((await readdir(cli)).filter((f) => f !== 'node_modules').sort(), ['README.md', 'bin', 'dist', 'package.json']);
  const shipped = await readdir(join(cli, 'dist'), { recursive: true });
  assert.deepEqual(
    shipped.filter((f) => f.endsWith('.d.ts') || f.includes('tsbuildinfo') || f.endsWith('.test.js')),
    [],
  );
  const manifest = (await import(join(cli, 'package.json'), { with: { type: 'json' } })).default;
  assert.deepEqual(manifest.dependencies, { '@tenantcast/sdk': '0.1.0', commander: '14.0.3' });
  assert.deepEqual(manifest.bin, { tenantcast: './bin/tenantcast.js' });
});

test('the installed tenantcast runs outside the repository: --help, and token mint with TENANTCAST_SECRET', async () => {
  const { bin, dir } = fixture;
  const help = await run(bin, ['--help'], dir);
  assert.match(help, /^Usage: tenantcast \[options\] \[command\]/);
  for (const command of ['token', 'publish', 'tail', 'history', 'webhooks', 'deliveries'])
    assert.match(help, new RegExp(`\\n  ${command} `));

  const secret = 'tarball-secret-0123456789';
  const { execFile } = await import('node:child_process');
  const token = await new Promise<string>((resolve, reject) =>
    execFile(
      bin,
      ['token', 'mint', '--scope', 'subscribe', '--tenants', 'acme,globex', '--expires-in', '15m', '--issuer', 'ops'],
      { cwd: dir, env: plainEnv({ TENANTCAST_SECRET: secret }) },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout.trim())),
    ),
  );
  const claims = await verifyToken(token, secret, { issuer: 'ops' });
  assert.deepEqual([[...claims.scopes], claims.tenants, claims.exp! - claims.iat!], [['subscribe'], new Set(['acme', 'globex']), 900]);
});
