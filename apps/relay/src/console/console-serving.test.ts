import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { useRelay } from '../testing/use-relay.ts';

// The relay serves the built console (CONSOLE_DIR here: a fake build made by the test) at /console/.

const base = mkdtempSync(join(tmpdir(), 'tc-console-'));
const dist = join(base, 'dist');
mkdirSync(join(dist, 'assets'), { recursive: true });
writeFileSync(join(base, 'secret.txt'), 'outside the console');
writeFileSync(
  join(dist, 'index.html'),
  '<!doctype html><title>tenantcast console</title><script type="module" src="assets/main-4XH2K7QZ.js"></script>',
);
writeFileSync(join(dist, 'assets', 'main-4XH2K7QZ.js'), 'console.log("console");');
writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
process.on('exit', () => rmSync(base, { recursive: true, force: true }));

const built = useRelay({ consoleDir: dist, consoleGatewayUrl: 'wss://gw.example:9443/' });
const missing = useRelay({ consoleDir: join(dist, 'not-built') });

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' wss://gw.example:9443; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function assertSecurityHeaders(res: Response, csp = CSP): void {
  assert.equal(res.headers.get('content-security-policy'), csp);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
}

describe('the console, built', () => {
  test('/console/ answers index.html, never cached, with the security headers', async () => {
    const res = await fetch(`${built.relay.url}/console/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await res.text(), /tenantcast console/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assertSecurityHeaders(res);
  });

  test('/console redirects to /console/', async () => {
    const res = await fetch(`${built.relay.url}/console`, { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.equal(new URL(res.headers.get('location')!, `${built.relay.url}/console`).href, `${built.relay.url}/console/`);
  });

  test('a hashed asset is cached for a year, another file revalidated', async () => {
    const asset = await fetch(`${built.relay.url}/console/assets/main-4XH2K7QZ.js`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assertSecurityHeaders(asset);
    const icon = await fetch(`${built.relay.url}/console/favicon.svg`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('cache-control'), 'no-cache');
  });

  test('/console/config.json names the gateway and the relay', async () => {
    const res = await fetch(`${built.relay.url}/console/config.json`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { gatewayUrl: 'wss://gw.example:9443', relayUrl: built.relay.url });
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assertSecurityHeaders(res);
  });

  test('a file the build does not have is 404, and nothing outside the folder is served', async () => {
    assert.equal((await fetch(`${built.relay.url}/console/assets/nope.js`)).status, 404);
    for (const path of ['/console/..%2fsecret.txt', '/console/%2e%2e/secret.txt', '/console/assets/..%2f..%2fsecret.txt']) {
      const outside = await fetch(`${built.relay.url}${path}`);
      assert.ok(outside.status === 403 || outside.status === 404, `${path}: got ${outside.status}`);
      assert.doesNotMatch(await outside.text(), /outside the console/);
    }
  });
});

describe('the console, not built', () => {
  test('/console and /console/ answer 404 saying to run pnpm build', async () => {
    for (const path of ['/console', '/console/', '/console/assets/main.js']) {
      const res = await fetch(`${missing.relay.url}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 404, path);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'TC_ERR_NOT_FOUND');
      assert.match(body.error.message, /The console is not built: run "pnpm build"/);
      assert.match(body.error.message, /CONSOLE_DIR/);
    }
  });

  test('config.json still answers, the gateway by default on the relay’s host name at port 8081', async () => {
    const res = await fetch(`${missing.relay.url}/console/config.json`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { gatewayUrl: 'ws://127.0.0.1:8081', relayUrl: missing.relay.url });
    assertSecurityHeaders(res, CSP.replace('wss://gw.example:9443', 'ws://127.0.0.1:8081'));
  });
});
