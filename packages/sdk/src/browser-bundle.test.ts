import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';

const sdk = join(import.meta.dirname);

// What a browser imports must bundle for the browser platform: esbuild fails on any Node built-in.
for (const entry of ['index.ts', 'schemas/index.ts']) {
  test(`${entry} bundles for browsers without Node-only modules`, async () => {
    const result = await build({
      entryPoints: [join(sdk, entry)],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      metafile: true,
    });
    assert.equal(result.errors.length, 0);
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(
      inputs.some((i) => i.includes('registry') || i.includes('envelope')),
      'the bundle holds the SDK',
    );
    assert.ok(!inputs.some((i) => i.startsWith('node:')), `no node: imports, got ${inputs.filter((i) => i.startsWith('node:'))}`);
    assert.ok(!inputs.some((i) => i.endsWith('tokens.ts')), 'token signing stays behind @tenantcast/sdk/tokens');
  });
}
