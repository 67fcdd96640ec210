import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';

// The SDK in a real browser: Debian's chromium driven by playwright-core (never a downloaded
// browser), a page served from a free port of 127.0.0.1, and the SDK bundled as an app would.

/** Registers something to close when the test or suite ends. */
type OnClose = (close: () => unknown) => void;

export const CHROMIUM = '/usr/bin/chromium';

/** A test option that skips, saying how to install it, where Debian's chromium is missing. */
export const needsChromium = {
  skip: existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser test`,
};

const sdkSrc = join(import.meta.dirname, '../../packages/sdk/src');

/** The SDK bundled for browsers, as a bundler would do it for an app. */
export async function bundleSdk(): Promise<string> {
  const result = await build({
    entryPoints: [join(sdkSrc, 'index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  assert.equal(result.errors.length, 0);
  const [output] = result.outputFiles;
  assert.ok(output !== undefined);
  return output.text;
}

/** Serves `html` at `/` and the SDK bundle at `/sdk.js`; resolves with the page's URL. */
export async function servePage(onClose: OnClose, html: string): Promise<string> {
  const bundle = await bundleSdk();
  const server = createServer((request, response) => {
    if (request.url === '/sdk.js') response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
    else if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  onClose(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** Chromium's command line: headless, and without the background traffic of its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Debian's chromium with `CHROMIUM_ARGS`. */
export async function launchChromium(onClose: OnClose): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  onClose(() => browser.close());
  return browser;
}

/** Opens `url` in a new page and waits until its script sets `window.ready`; `pageErrors` collects uncaught errors. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; pageErrors: string[] }> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 10_000 });
  return { page, pageErrors };
}
