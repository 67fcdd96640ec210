import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { useFixture } from '@tenantcast/testkit';
import { build } from 'esbuild';
import { root } from '../support/app-process.ts';
import { run, tempDir } from '../support/built.ts';

// The SDK as its users get it: packed by pnpm (prepack builds it), installed with npm into an empty
// folder outside the workspace, then used by plain node, by CommonJS, by TypeScript in both module
// resolutions, and by a browser bundler. One pack and one install serve every test.

const fixture = useFixture('the installed SDK tarball', async (onClose) => {
  const dir = await tempDir('tenantcast-sdk-', onClose);
  await run('pnpm', ['pack', '--pack-destination', dir], join(root, 'packages', 'sdk'));
  const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'pnpm pack made a tarball');
  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }));
  await run('npm', ['install', join(dir, tarball), '--no-audit', '--no-fund', '--prefer-offline'], app);
  return { app, sdk: join(app, 'node_modules', '@tenantcast', 'sdk') };
});

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

test('the tarball ships dist/, README.md and package.json, and installs only the declared dependencies', async () => {
  const { app, sdk } = fixture;
  assert.deepEqual((await readdir(sdk)).sort(), ['README.md', 'dist', 'package.json']);
  assert.ok(!(await readdir(join(sdk, 'dist'))).includes('.tsbuildinfo'));
  const manifest = await readJson(join(sdk, 'package.json'));
  assert.doesNotMatch(JSON.stringify(manifest.exports), /"source"|\.\/src\//, 'the published exports point at dist/ only');

  // Every package npm installed is the SDK or reached from its `dependencies`: no devDependencies, nothing else.
  const lock = (await readJson(join(app, 'package-lock.json'))) as { packages: Record<string, { dependencies?: Record<string, string> }> };
  const installed = new Set(Object.keys(lock.packages).filter((path) => path !== ''));
  const reached = new Set<string>();
  const visit = (name: string) => {
    const path = `node_modules/${name}`;
    if (reached.has(path)) return;
    reached.add(path);
    for (const dependency of Object.keys(lock.packages[path]?.dependencies ?? {})) visit(dependency);
  };
  visit('@tenantcast/sdk');
  assert.deepEqual([...installed].sort(), [...reached].sort());
  assert.deepEqual(Object.keys(manifest.dependencies).sort(), ['jose', 'typebox', 'ws']);
});

test('plain node imports the root and the tokens entry: mints, verifies, creates, filters, verifies a webhook, subscribes over ws', async () => {
  const script = `
    import * as sdk from '@tenantcast/sdk';
    import { compileFilters, createEvent, generateWebhookSecret, RelayClient, signWebhook, subscribe, verifyWebhook } from '@tenantcast/sdk';
    import { WebIntegrationCreatedData } from '@tenantcast/sdk/schemas';
    import { mintToken, verifyToken } from '@tenantcast/sdk/tokens';
    import { WebSocketServer } from 'ws';

    const secret = 'consumer-secret-0123456789';
    const token = await mintToken({ sub: 'consumer', scope: 'subscribe', tenants: ['acme'] }, secret);
    const claims = await verifyToken(token, secret);
    const event = createEvent('com.qlik.web-integration.created', {
      source: 'consumer', tenantid: 'acme', data: { id: 'wi-1', name: 'Portal', validOrigins: ['https://portal.example'] },
    });
    const whsec = generateWebhookSecret();
    const body = JSON.stringify(event);
    const now = Math.floor(Date.now() / 1000);
    const signature = await signWebhook(event.id, now, body, whsec);
    const verified = await verifyWebhook({ 'webhook-id': event.id, 'webhook-timestamp': String(now), 'webhook-signature': signature }, body, whsec);

    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const handshake = new Promise((resolve) => server.once('connection', (socket, request) =>
      resolve({ protocol: socket.protocol, bearer: request.headers.authorization === 'Bearer ' + token || request.url.includes(token) })));
    const subscription = subscribe({ url: 'ws://127.0.0.1:' + server.address().port, token, tenantid: 'acme' });
    const seen = await handshake;
    subscription.close();
    server.close();

    console.log(JSON.stringify({
      rootSigns: 'mintToken' in sdk || 'verifyToken' in sdk,
      sub: claims.sub,
      scopes: [...claims.scopes],
      type: event.type,
      schema: typeof WebIntegrationCreatedData,
      filtered: compileFilters([{ prefix: { type: 'com.qlik.' } }])(event),
      webhook: verified.id === event.id,
      publish: typeof new RelayClient({ url: 'http://127.0.0.1:1', token }).publish,
      seen,
    }));
  `;
  const out = JSON.parse(await run(process.execPath, ['--input-type=module', '-e', script], fixture.app));
  assert.deepEqual(out, {
    rootSigns: false,
    sub: 'consumer',
    scopes: ['subscribe'],
    type: 'com.qlik.web-integration.created',
    schema: 'object',
    filtered: true,
    webhook: true,
    publish: 'function',
    seen: { protocol: 'tenantcast.v1', bearer: true },
  });
});

test('CommonJS require()s the root and the tokens entry (Node 20.19+ loads ES modules with require)', async () => {
  const file = join(fixture.app, 'check.cjs');
  await writeFile(
    file,
    `const { createEvent, subscribe } = require('@tenantcast/sdk');
     const { mintToken } = require('@tenantcast/sdk/tokens');
     mintToken({ sub: 'cjs', scope: 'publish', tenants: ['acme'] }, 'consumer-secret-0123456789').then((token) => {
       const event = createEvent('com.qlik.web-integration.deleted', { source: 'cjs', tenantid: 'acme', data: { id: 'wi-1' } });
       console.log(JSON.stringify({ parts: token.split('.').length, type: event.type, subscribe: typeof subscribe }));
     });`,
  );
  assert.deepEqual(JSON.parse(await run(process.execPath, [file], fixture.app)), {
    parts: 3,
    type: 'com.qlik.web-integration.deleted',
    subscribe: 'function',
  });
});

test('a TypeScript consumer type-checks with "moduleResolution": "nodenext" and with "bundler", narrowing on event.type', async () => {
  const { app } = fixture;
  await writeFile(
    join(app, 'consumer.ts'),
    `import { createEvent, type QlikEvent, subscribe } from '@tenantcast/sdk';
import { mintToken } from '@tenantcast/sdk/tokens';
// @ts-expect-error token signing is not exported from the root entry
import { mintToken as fromRoot } from '@tenantcast/sdk';

export function describe(event: QlikEvent): string {
  switch (event.type) {
    case 'com.qlik.web-integration.created':
      return event.data.validOrigins.join(' ');
    case 'com.qlik.web-integration.updated':
      return event.data.updates.map((update) => update.property ?? '').join(' ');
    case 'com.qlik.web-integration.deleted':
      // @ts-expect-error a deleted web integration's data has only its id
      return event.data.validOrigins.join(' ');
    default:
      return event.data.id;
  }
}

export async function follow(secret: string): Promise<string[]> {
  const token = await mintToken({ sub: 'consumer', scope: 'subscribe', tenants: ['acme'] }, secret);
  const created = createEvent('com.qlik.web-integration.created', { source: 's', tenantid: 'acme', data: { id: 'wi-1', name: 'n', validOrigins: [] } });
  const seen: string[] = [created.type, ...(created.data?.validOrigins ?? [])];
  for await (const event of subscribe({ url: 'ws://127.0.0.1:8081', token, tenantid: 'acme' })) seen.push(event.relayoffset, describe(event));
  return [...seen, String(fromRoot)];
}
`,
  );
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  // skipLibCheck as most projects set it; the @ts-expect-error lines fail if the SDK's types fall back to any.
  const common = { target: 'es2022', lib: ['es2022', 'dom'], types: [], strict: true, noEmit: true, skipLibCheck: true };
  const configs = {
    nodenext: { ...common, module: 'nodenext', moduleResolution: 'nodenext' },
    bundler: { ...common, module: 'preserve', moduleResolution: 'bundler' },
  };
  await Promise.all(
    Object.entries(configs).map(async ([name, compilerOptions]) => {
      const config = join(app, `tsconfig.${name}.json`);
      await writeFile(config, JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
      await run(tsc, ['--noEmit', '-p', config], app);
    }),
  );
});

test('esbuild bundles the subscribe client, createEvent, schemas and filters for browsers, with no Node built-in and no token signing', async () => {
  const { app } = fixture;
  const entry = join(app, 'browser.js');
  await writeFile(
    entry,
    `export { compileFilters, createEvent, subscribe, verifyWebhook } from '@tenantcast/sdk';
export { CloudEventEnvelope, WebIntegrationCreatedData } from '@tenantcast/sdk/schemas';
`,
  );
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: app,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  assert.equal(result.errors.length, 0);
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.includes('node_modules/@tenantcast/sdk/dist/subscribe/subscribe.js'), 'the bundle holds the subscribe client');
  assert.deepEqual(
    inputs.filter((i) => i.startsWith('node:')),
    [],
  );
  assert.deepEqual(
    inputs.filter((i) => i.includes('node_modules/ws/') && !i.startsWith('(disabled):')),
    [],
    'the package.json "browser" field leaves ws out',
  );
  assert.deepEqual(
    inputs.filter((i) => i.includes('node_modules/jose/') || i.endsWith('tokens.js')),
    [],
  );
});
