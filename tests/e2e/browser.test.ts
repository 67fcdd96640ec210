import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway } from '@tenantcast/gateway/testing';
import { within } from '@tenantcast/testkit';
import { launchChromium, needsChromium, openPage, servePage } from '../support/browser.ts';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { startStack } from '../support/stack.ts';

// The SDK's subscribe client in a real browser (Debian's chromium, driven by playwright-core): it
// must run on the browser's global WebSocket, with the token in the query, against a real gateway.

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tenantcast subscribe</title></head>
<body><script type="module">
  import { subscribe } from '/sdk.js';
  window.received = [];
  window.statuses = [];
  window.socketUrls = [];
  // Records the URLs the client opens; it is still the browser's own WebSocket.
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      window.socketUrls.push(String(url));
      super(url, protocols);
    }
  };
  window.start = async ({ url, token, tenantid }) => {
    window.subscription = subscribe({
      url, token, tenantid,
      backoff: { baseMs: 10, maxMs: 50 },
      onStatus: (status, detail) => window.statuses.push({ status, code: detail && detail.code }),
    });
    (async () => {
      try {
        for await (const event of window.subscription) {
          window.received.push({ relayoffset: event.relayoffset, type: event.type, tenantid: event.tenantid, n: event.data.n });
        }
      } catch (error) {
        window.failure = String(error);
      }
    })();
    await window.subscription.ready;
    return window.subscription.status;
  };
  window.ready = true;
</script></body></html>`;

test(
  'in chromium, subscribe() on the global WebSocket gets exactly the published events, across a gateway restart',
  needsChromium,
  async (t) => {
    const stack = await startStack();
    onEnd(t, () => stack.close());
    const { redis, relay } = stack;
    let { gateway } = stack;

    const pageUrl = await servePage((close) => onEnd(t, close), PAGE);
    const browser = await launchChromium((close) => onEnd(t, close));
    const { page, pageErrors } = await openPage(browser, pageUrl);

    const tenant = await seededTenant(relay, 'browser');
    const token = await relay.token({ scope: 'subscribe', tenants: [tenant] });
    const status = await within(
      page.evaluate((options) => (window as unknown as { start(o: typeof options): Promise<string> }).start(options), {
        url: gateway.wsUrl,
        token,
        tenantid: tenant,
      }),
      'the page to subscribe',
    );
    assert.equal(status, 'open');

    type PageState = {
      received: Array<{ relayoffset: string; type: string; tenantid: string; n: number }>;
      statuses: Array<{ status: string; code?: number }>;
      socketUrls: string[];
      failure?: string;
    };
    const state = () =>
      page.evaluate(() => {
        const w = window as unknown as PageState;
        return { received: w.received, statuses: w.statuses, socketUrls: w.socketUrls, failure: w.failure };
      });
    const waitFor = (count: number) =>
      page.waitForFunction((n) => (window as unknown as PageState).received.length >= n, count, { timeout: 10_000 });

    const stored = await publishOffsets(relay, tenant, ticks(5));
    await waitFor(5);

    // A gateway restart on the same port: the page reconnects and resumes after its last offset.
    const port = Number(new URL(gateway.url).port);
    const closing = gateway.close();
    stored.push(...(await publishOffsets(relay, tenant, ticks(3, 5))));
    await closing;
    stored.push(...(await publishOffsets(relay, tenant, ticks(3, 8))));
    gateway = await startGateway(redis, { keyPrefix: relay.config.keyPrefix, port });
    onEnd(t, () => gateway.close());
    stored.push(...(await publishOffsets(relay, tenant, ticks(3, 11))));
    await waitFor(14);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const { received, statuses, socketUrls, failure } = await state();
    assert.equal(failure, undefined);
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      stored,
    );
    assert.deepEqual(
      received.map((e) => e.n),
      Array.from({ length: 14 }, (_, i) => i),
    );
    assert.ok(received.every((e) => e.type === 'com.example.tick' && e.tenantid === tenant));
    assert.ok(
      statuses.some((s) => s.status === 'reconnecting' && s.code === 1001),
      JSON.stringify(statuses),
    );
    assert.equal(statuses.at(-1)?.status, 'open');
    assert.ok(socketUrls.length >= 2);
    for (const url of socketUrls) {
      const parsed = new URL(url);
      assert.equal(parsed.pathname, '/v1/connect');
      assert.equal(parsed.searchParams.get('token'), token, 'the token goes in the query');
    }
    assert.deepEqual(pageErrors, []);

    await page.evaluate(() => (window as unknown as { subscription: { close(): void } }).subscription.close());
    assert.equal(await page.evaluate(() => (window as unknown as { subscription: { status: string } }).subscription.status), 'closed');
  },
);
