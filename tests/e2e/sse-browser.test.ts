import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { within } from '@tenantcast/testkit';
import type { Page } from 'playwright-core';
import { launchChromium, needsChromium, openPage, servePage } from '../support/browser.ts';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { useStack } from '../support/stack.ts';
import { startProxy } from '../support/tcp-proxies.ts';
import { startUpgradeBlockingProxy } from '../support/upgrade-blocking-proxy.ts';

// The gateway's Server-Sent Events in Chromium (Debian's, driven by playwright-core): the browser's
// own EventSource, from a page of another origin, token in the query; and the SDK's subscribe with
// transport 'auto' behind a proxy that blocks WebSocket upgrades.

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tenantcast SSE</title></head>
<body><script type="module">
  import { subscribe } from '/sdk.js';
  window.events = [];
  window.errors = [];
  window.opens = 0;
  window.listen = (url) => {
    const source = new EventSource(url);
    window.source = source;
    source.onopen = () => window.opens++;
    source.onmessage = (m) => window.events.push({ offset: m.lastEventId, event: JSON.parse(m.data) });
    // event: error is a MessageEvent with data; a connection error is a plain Event.
    source.addEventListener('error', (e) => { if (typeof e.data === 'string') window.errors.push(JSON.parse(e.data)); });
  };
  window.refusal = async (url) => {
    const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
    return { status: response.status, body: await response.json() };
  };
  window.subscribeAuto = async (options) => {
    window.subscription = subscribe({ ...options, transport: 'auto', backoff: { baseMs: 10, maxMs: 50 } });
    (async () => {
      for await (const event of window.subscription) window.events.push({ offset: event.relayoffset, event });
    })().catch((error) => { window.failure = String(error); });
    await window.subscription.ready;
    return window.subscription.status;
  };
  window.ready = true;
</script></body></html>`;

type PageState = {
  events: { offset: string; event: { relayoffset: string; type: string; tenantid: string } }[];
  errors: { error: { code: string; message: string } }[];
  opens: number;
  source?: EventSource;
  failure?: string;
};

const stack = useStack();

const state = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as PageState;
    return { events: w.events, errors: w.errors, opens: w.opens, readyState: w.source?.readyState, failure: w.failure };
  });

function streamUrl(base: string, tenant: string, query: Record<string, string>): string {
  const url = new URL(`/v1/tenants/${encodeURIComponent(tenant)}/events`, base);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.href;
}

async function newPage(t: Parameters<typeof onEnd>[0]): Promise<{ page: Page; pageErrors: string[] }> {
  const pageUrl = await servePage((close) => onEnd(t, close), PAGE);
  const browser = await launchChromium((close) => onEnd(t, close));
  return openPage(browser, pageUrl);
}

describe('Server-Sent Events in Chromium', needsChromium, () => {
  test('EventSource: live events with filters, resumed by Last-Event-ID across cut connections, no gap or duplicate', async (t) => {
    const tenant = await seededTenant(stack.relay, 'chromium-sse');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const proxy = await startProxy(Number(new URL(stack.gateway.url).port));
    onEnd(t, () => proxy.close());
    const { page, pageErrors } = await newPage(t);
    const filters = JSON.stringify([{ exact: { type: 'com.example.tick' } }]);
    await page.evaluate(
      (url) => (window as unknown as { listen(u: string): void }).listen(url),
      streamUrl(`http://127.0.0.1:${proxy.port}`, tenant, { token, filters }),
    );
    await page.waitForFunction(() => (window as unknown as PageState).opens === 1, undefined, { timeout: 10_000 });
    const published: string[] = [];
    // Ten cuts, as the issue asks; Chromium's EventSource waits about 3 s before each reconnect.
    for (let round = 0; round < 10; round++) {
      published.push(...(await publishOffsets(stack.relay, tenant, ticks(3, round * 10))));
      await publishOffsets(stack.relay, tenant, [{ type: 'com.example.other', data: {} }]);
      await page.waitForFunction((n) => (window as unknown as PageState).events.length >= n, published.length, { timeout: 10_000 });
      proxy.cut();
      published.push(...(await publishOffsets(stack.relay, tenant, ticks(2, round * 10 + 5))));
      await page.waitForFunction((n) => (window as unknown as PageState).opens === n, round + 2, { timeout: 15_000 });
    }
    await page.waitForFunction((n) => (window as unknown as PageState).events.length >= n, published.length, { timeout: 10_000 });
    const { events } = await state(page);
    assert.deepEqual(
      events.map((e) => e.offset),
      published,
    );
    assert.deepEqual(
      events.map((e) => e.event.relayoffset),
      published,
    );
    assert.ok(events.every((e) => e.event.type === 'com.example.tick' && e.event.tenantid === tenant));
    assert.deepEqual(pageErrors, []);
  });

  test('EventSource: event: error at the token’s exp; a refusal is readable by the page, status and body', async (t) => {
    const tenant = await seededTenant(stack.relay, 'chromium-sse-expiry');
    const { page } = await newPage(t);
    // Minted once the page is up: it expires 2 s into the stream.
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant], expiresIn: '2s' });
    await page.evaluate(
      (url) => (window as unknown as { listen(u: string): void }).listen(url),
      streamUrl(stack.gateway.url, tenant, { token }),
    );
    await page.waitForFunction(() => (window as unknown as PageState).errors.length === 1, undefined, { timeout: 15_000 });
    assert.equal((await state(page)).errors[0]!.error.code, 'TC_ERR_TOKEN_EXPIRED');
    // It reconnects with the same token, is refused with 401, and gives up (EventSource.CLOSED).
    await page.waitForFunction(() => (window as unknown as PageState).source?.readyState === 2, undefined, { timeout: 15_000 });
    const other = await stack.relay.token({ scope: 'subscribe', tenants: ['someone-else'] });
    const refusal = await page.evaluate(
      (url) => (window as unknown as { refusal(u: string): Promise<{ status: number; body: { error: { code: string } } }> }).refusal(url),
      streamUrl(stack.gateway.url, tenant, { token: other }),
    );
    assert.equal(refusal.status, 403);
    assert.equal(refusal.body.error.code, 'TC_ERR_FORBIDDEN_TENANT');
  });

  test("the SDK's auto transport, behind a proxy that refuses WebSocket upgrades with 403, subscribes over SSE", async (t) => {
    const tenant = await seededTenant(stack.relay, 'chromium-auto');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const proxy = await startUpgradeBlockingProxy(t, stack.gateway.url);
    const { page, pageErrors } = await newPage(t);
    const streamRequests: Array<{ method: string; url: string; authorization?: string }> = [];
    page.on('request', (request) => {
      if (request.url().includes('/events')) {
        streamRequests.push({ method: request.method(), url: request.url(), authorization: request.headers().authorization });
      }
    });
    const status = await within(
      page.evaluate((options) => (window as unknown as { subscribeAuto(o: typeof options): Promise<string> }).subscribeAuto(options), {
        url: `ws://127.0.0.1:${proxy.port}`,
        token,
        tenantid: tenant,
      }),
      'the page to subscribe',
    );
    assert.equal(status, 'open');
    assert.ok(proxy.refusedUpgrades >= 1, 'it tried a WebSocket first');
    const published = await publishOffsets(stack.relay, tenant, ticks(3));
    await page.waitForFunction((n) => (window as unknown as PageState).events.length >= n, 3, { timeout: 10_000 });
    const { events, failure } = await state(page);
    assert.equal(failure, undefined);
    assert.deepEqual(
      events.map((e) => e.offset),
      published,
    );
    assert.equal(proxy.refusedUpgrades, 1, 'it did not try a WebSocket again: every event came over SSE');
    // The token rides in Authorization (the gateway answers the CORS preflight), never in the URL.
    const gets = streamRequests.filter((r) => r.method === 'GET');
    assert.ok(gets.length >= 1, 'the page requested the event stream');
    for (const request of gets) {
      assert.doesNotMatch(request.url, /token=/);
      assert.equal(request.authorization, `Bearer ${token}`);
    }
    assert.deepEqual(pageErrors, []);
  });
});
