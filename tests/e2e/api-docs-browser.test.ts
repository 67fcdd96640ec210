import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchChromium, needsChromium } from '../support/browser.ts';
import { onEnd } from '../support/cleanup.ts';
import { startRelayStack } from '../support/stack.ts';

// The relay's API reference at /docs in Debian's chromium: it renders the OpenAPI document with the
// relay's own files only (no CDN, font or validator badge), and its CSP refuses nothing it needs.
// DOCS_SCREENSHOTS=1 writes docs/api-docs.png, as CONSOLE_SCREENSHOTS does for the console.

const SCREENSHOT = process.env.DOCS_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs/api-docs.png') : undefined;

test('/docs renders every operation of the document with no request leaving 127.0.0.1', needsChromium, async (t) => {
  const stack = await startRelayStack();
  onEnd(t, () => stack.close());
  const operations = Object.values(
    ((await (await fetch(`${stack.relay.url}/openapi.json`)).json()) as { paths: Record<string, object> }).paths,
  ).reduce((n, item) => n + Object.keys(item).length, 0);

  const browser = await launchChromium((close) => onEnd(t, close));
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requested: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  page.on('requestfailed', (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });

  await page.goto(`${stack.relay.url}/docs/`);
  // Swagger UI draws one block per operation once it has fetched and read the document.
  await page
    .locator('.opblock')
    .nth(operations - 1)
    .waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('.opblock').count(), operations);
  // Open POST /v1/events: its answers list the TC_ERR codes of the shared table.
  await page.locator('.opblock-summary-description', { hasText: /^Publish CloudEvents$/ }).click();
  await page.getByText('TC_ERR_RATE_LIMITED', { exact: false }).first().waitFor({ timeout: 10_000 });
  if (SCREENSHOT !== undefined) await page.screenshot({ path: SCREENSHOT, fullPage: false });

  assert.deepEqual(problems, []);
  const origin = new URL(stack.relay.url).origin;
  const foreign = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
  assert.deepEqual(foreign, []);
  assert.ok(
    requested.some((url) => url.endsWith('/docs/json')),
    'the UI read the document from the relay',
  );
});
