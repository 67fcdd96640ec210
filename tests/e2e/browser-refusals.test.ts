import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useFixture, within } from '@tenantcast/testkit';
import { launchChromium, needsChromium, openPage, servePage } from '../support/browser.ts';
import { seededTenant } from '../support/events.ts';
import { assertRetriedAfter, PROMPTLY_MS, RETRIED_REFUSALS, refusalCases } from '../support/refusals.ts';
import { startRefusingFront } from '../support/refusing-front.ts';
import { useStack } from '../support/stack.ts';

// The SDK's subscribe() refused by a real gateway in headless Chromium, on the browser's own
// WebSocket, which shows a refused upgrade only as a close 1006: the client asks the gateway why
// over plain HTTP (docs/protocol.md, "Refused upgrades") and ends with the gateway's own code. The
// same in Node is in subscribe-refusals.test.ts.

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tenantcast refusals</title></head>
<body><script type="module">
  import { subscribe } from '/sdk.js';
  // Records what the client fetches; it is still the browser's own fetch.
  window.fetched = [];
  const nativeFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    window.fetched.push(String(input));
    return nativeFetch(input, init);
  };
  // Subscribes, and reports how ready settled, when, and the statuses on the way.
  window.attempt = async (options) => {
    const statuses = [];
    const started = performance.now();
    const subscription = subscribe({
      ...options,
      backoff: { baseMs: 10, maxMs: 50 },
      onStatus: (state, detail) => statuses.push({ state, ...detail }),
    });
    try {
      await subscription.ready;
      subscription.close();
      return { ready: true, statuses };
    } catch (error) {
      return { ready: false, ms: performance.now() - started, name: error.name, code: error.code, status: error.status, message: error.message, statuses, state: subscription.status };
    }
  };
  window.ready = true;
</script></body></html>`;

type Attempt = {
  ready: boolean;
  ms?: number;
  name?: string;
  code?: string;
  status?: number;
  message?: string;
  state?: string;
  statuses: Array<{ state: string; code?: number; httpStatus?: number; delayMs?: number }>;
};

describe('subscribe() refused by the gateway, in Chromium', needsChromium, () => {
  const stack = useStack();
  const chromium = useFixture('a Chromium page with the SDK', async (onClose) => {
    const url = await servePage(onClose, PAGE);
    const browser = await launchChromium(onClose);
    return openPage(browser, url);
  });

  /** Runs `window.attempt(options)` in the page; resets what the page records first. */
  async function attempt(options: Record<string, unknown>): Promise<{ result: Attempt; fetched: string[] }> {
    const { page } = chromium;
    await page.evaluate(() => {
      (window as unknown as { fetched: string[] }).fetched = [];
    });
    const result = await within(
      page.evaluate((o) => (window as unknown as { attempt(o: unknown): Promise<Attempt> }).attempt(o), options),
      'the page’s attempt',
      20_000,
    );
    const fetched = await page.evaluate(() => (window as unknown as { fetched: string[] }).fetched);
    return { result, fetched };
  }

  const cases = refusalCases((options) => stack.relay.token(options));
  for (const { name, status, code, message, options } of cases) {
    test(`${name}: ready rejects promptly with ${code} and the gateway's message`, async () => {
      const tenant = await seededTenant(stack.relay, 'browser-refused');
      const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
      const { result, fetched } = await attempt({ url: stack.gateway.wsUrl, token, tenantid: tenant, ...(await options()) });
      assert.equal(result.ready, false);
      assert.equal(result.name, 'TenantcastError');
      assert.equal(result.code, code, result.message);
      assert.equal(result.status, status);
      assert.match(result.message ?? '', message);
      assert.ok(result.ms !== undefined && result.ms < PROMPTLY_MS, `refused after ${result.ms} ms`);
      assert.equal(result.state, 'closed');
      assert.deepEqual(
        result.statuses.map((s) => s.state),
        ['closed'],
        'no reconnect',
      );
      // A refused upgrade is learned by asking over plain HTTP; a refused subscribe message needs no asking.
      const asked = fetched.filter((url) => new URL(url).pathname === '/v1/connect');
      assert.equal(asked.length, status === undefined ? 0 : 1, fetched.join(', '));
      assert.deepEqual(chromium.pageErrors, []);
    });
  }

  for (const [status, code] of RETRIED_REFUSALS) {
    test(`an upgrade refused with ${status} and Retry-After is retried after it, then subscribes`, async (t) => {
      const front = await startRefusingFront(t, stack.gateway.url);
      front.refuse(1, status, code, 1);
      const tenant = await seededTenant(stack.relay, 'browser-retried');
      const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
      const { result } = await attempt({ url: `ws://127.0.0.1:${front.port}`, token, tenantid: tenant });
      assert.equal(result.ready, true, JSON.stringify(result));
      assert.equal(front.refused, 1);
      // The status and Retry-After, read over plain HTTP.
      assertRetriedAfter(result.statuses, status);
      assert.deepEqual(
        result.statuses.map((s) => s.state),
        ['reconnecting', 'open', 'closed'],
      );
    });
  }
});
