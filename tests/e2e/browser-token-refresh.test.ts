import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scrapeMetric, sleep, until, within } from '@tenantcast/testkit';
import { launchChromium, needsChromium, servePage } from '../support/browser.ts';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { startStack } from '../support/stack.ts';

// The SDK's token refresh in a real browser (Debian's chromium): a token function that fetches a
// short-lived token (here from the test, through an exposed function, as a page would from its
// backend) keeps one WebSocket open across several expiries, and loses or repeats no event.

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tenantcast token refresh</title></head>
<body><script type="module">
  import { subscribe } from '/sdk.js';
  window.received = [];
  window.statuses = [];
  window.sockets = 0;
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      window.sockets++;
      super(url, protocols);
    }
  };
  window.start = async ({ url, tenantid }) => {
    window.subscription = subscribe({
      url, tenantid,
      token: () => window.freshToken(),
      backoff: { baseMs: 10, maxMs: 50 },
      onStatus: (status, detail) => window.statuses.push({ status, code: detail && detail.code }),
      onEvent: (event) => window.received.push(event.relayoffset),
    });
    await window.subscription.ready;
    return window.subscription.status;
  };
  window.ready = true;
</script></body></html>`;

test('in chromium, subscribe() with a token function refreshes on the open connection across expiries', needsChromium, async (t) => {
  const stack = await startStack();
  onEnd(t, () => stack.close());
  const { relay, gateway } = stack;
  const tenant = await seededTenant(relay, 'browser-refresh');

  const pageUrl = await servePage((close) => onEnd(t, close), PAGE);
  const browser = await launchChromium((close) => onEnd(t, close));
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  // Exposed before the page loads (openPage would load it first), as the page's token source.
  let calls = 0;
  await page.exposeFunction('freshToken', () => {
    calls++;
    return relay.token({ scope: 'subscribe', tenants: [tenant], expiresIn: 3 });
  });
  await page.goto(pageUrl);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 10_000 });

  const status = await within(
    page.evaluate((options) => (window as unknown as { start(o: typeof options): Promise<string> }).start(options), {
      url: gateway.wsUrl,
      tenantid: tenant,
    }),
    'the page to subscribe',
  );
  assert.equal(status, 'open');

  const stored: string[] = [];
  for (let n = 0; calls < 4; n++) {
    stored.push(...(await publishOffsets(relay, tenant, ticks(1, n))));
    await sleep(100);
    assert.ok(n < 300, `the token function was called ${calls} times in 30 s`);
  }
  type PageState = { received: string[]; statuses: Array<{ status: string; code?: number }>; sockets: number };
  const state = () =>
    page.evaluate(() => {
      const w = window as unknown as PageState;
      return { received: w.received, statuses: w.statuses, sockets: w.sockets };
    });
  await until(async () => (await state()).received.length >= stored.length, `${stored.length} events in the page`, 15_000);
  await sleep(200);

  const { received, statuses, sockets } = await state();
  assert.deepEqual(received, stored, 'every offset once, in order');
  assert.deepEqual(
    statuses.map((s) => s.status),
    ['open'],
    'no reconnect',
  );
  assert.equal(sockets, 1, 'the page opened one WebSocket');
  assert.equal(
    await scrapeMetric(gateway.metricsUrl, 'tenantcast_gateway_connections_opened_total'),
    1,
    'the gateway accepted one connection',
  );
  assert.deepEqual(pageErrors, []);
});
