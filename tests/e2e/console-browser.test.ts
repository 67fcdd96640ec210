import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { freePort, within } from '@tenantcast/testkit';
import type { Page } from 'playwright-core';
import { buildConsole } from '../../apps/console/build.ts';
import { launchChromium, needsChromium } from '../support/browser.ts';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant } from '../support/events.ts';
import { startReceiver } from '../support/receiver.ts';
import { startStack } from '../support/stack.ts';

// The tenant console (apps/console) in Debian's chromium, against a real relay, gateway, Redis and
// receiver, driven only by accessible names. CONSOLE_SCREENSHOTS=1 writes docs/console-*.png.

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs') : undefined;

/** Runs axe-core in the page (loaded from the page's own origin: the CSP forbids inline scripts); returns serious or critical violations. */
async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ url: '/__axe.js' });
  const violations = await page.evaluate(async () => {
    const result = await (
      window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }
    ).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}, ${v.nodes} nodes)`);
}

async function shoot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS !== undefined) await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
}

/** A stack whose relay serves a console built for the test, and a page signed in to `tenant` by a portal link. */
async function openConsole(t: TestContext, name: string) {
  const dist = join(tmpdir(), `tenantcast-console-${process.pid}-${Date.now()}`);
  await buildConsole(dist);
  onEnd(t, () => rm(dist, { recursive: true, force: true }));
  // The gateway's port is chosen first: the relay names it to the console (and in its CSP).
  const gatewayPort = await freePort();
  const stack = await startStack({
    relay: {
      webhookAllowPrivate: true,
      webhookRetrySchedule: [],
      webhookRetry4xx: false,
      webhookCircuitFailures: 1000,
      consoleDir: dist,
      consoleGatewayUrl: `ws://127.0.0.1:${gatewayPort}`,
    },
    gateway: { port: gatewayPort },
  });
  onEnd(t, () => stack.close());
  const tenant = await seededTenant(stack.relay, name);
  const admin = await stack.relay.token({ scope: 'admin', tenants: [tenant] });
  const browser = await launchChromium((close) => onEnd(t, close));
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const axeSource = await readFile(AXE, 'utf8');
  // axe-core, offered at the console's own origin (the CSP allows no inline script): intercepted, never sent.
  await page.route(`${stack.relay.url}/__axe.js`, (route) => route.fulfill({ contentType: 'text/javascript', body: axeSource }));
  return { stack, tenant, admin, page };
}

/** Mints a portal link for `tenant` through the API. */
async function portalLink(relayUrl: string, tenant: string, admin: string, expiresInSeconds?: number): Promise<string> {
  const minted = await fetch(`${relayUrl}/v1/tenants/${tenant}/portal-links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
  });
  assert.equal(minted.status, 201);
  return ((await minted.json()) as { url: string }).url;
}

test(
  'the console: sign in by link, live events of its tenant only, a failed delivery retried to success, no foreign request, no serious axe violation',
  needsChromium,
  async (t) => {
    const { stack, tenant, admin, page } = await openConsole(t, 'console');
    const { relay, gateway } = stack;
    const origin = relay.url;

    let answer = 500;
    const receiver = await startReceiver(t, () =>
      answer === 500 ? { status: 500, body: 'receiver broke: database down', type: 'text/plain' } : { status: answer, type: 'text/plain' },
    );

    const other = await seededTenant(relay, 'console-other');
    const token = await relay.token({ scope: 'admin subscribe', tenants: [tenant] });

    const pageErrors: string[] = [];
    const foreign: string[] = [];
    const gatewayOrigin = new URL(gateway.wsUrl).host;
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('request', (request) => {
      if (!request.url().startsWith(`${origin}/`)) foreign.push(request.url());
    });
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).host !== gatewayOrigin) foreign.push(socket.url());
    });

    // A portal link from the API signs in by its fragment, which leaves the address bar.
    const link = await portalLink(relay.url, tenant, admin);
    assert.ok(link.startsWith(`${origin}/console/#token=`), link);
    await page.goto(link);
    await page.getByRole('heading', { name: `Events of ${tenant}` }).waitFor();
    assert.ok(!page.url().includes('token='), `the token left the address bar: ${page.url()}`);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

    await publishOffsets(relay, other, [{ type: 'com.example.other-tenant', data: {} }]);
    await publishOffsets(relay, tenant, [{ type: 'com.example.console', data: { hello: 'console' } }]);
    // "Within a second" in the issue; 2 s here, for a loaded CI machine (the gateway's own latency is in pnpm bench).
    await page.getByRole('button', { name: 'com.example.console' }).waitFor({ timeout: 2000 });
    await page.getByRole('button', { name: 'com.example.console' }).click();
    await page.getByRole('heading', { name: /^Event / }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'com.example.other-tenant' }).count(), 0, "another tenant's event is shown");
    await page.getByRole('button', { name: 'Load older' }).click();
    await page.getByRole('button', { name: 'com.example.seed' }).waitFor();
    await page.getByLabel('Type filter').fill('com.example.console');
    assert.equal(await page.getByRole('button', { name: 'com.example.seed' }).count(), 0);
    await page.getByLabel('Type filter').fill('');
    // "Pause" holds new events back (the status line says how many wait); pressing it again shows them.
    await page.getByRole('button', { name: 'Pause' }).click();
    await publishOffsets(relay, tenant, [{ type: 'com.example.while-paused', data: {} }]);
    await page.getByRole('status').filter({ hasText: 'Paused: 1 new events waiting' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'com.example.while-paused' }).count(), 0, 'shown while paused');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'com.example.while-paused' }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'Events');
    await shoot(page, 'events');

    // An endpoint whose receiver answers 500: the delivery fails for good (no retries configured).
    await page.getByRole('link', { name: 'Endpoints' }).click();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByLabel('URL').fill(receiver.url);
    await page.getByLabel('Description').fill('console test receiver');
    await page.getByLabel('Event type filter').fill('com.example.hook');
    assert.deepEqual(await axeViolations(page), [], 'Add endpoint');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByText('shown only now').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'Endpoints');
    await shoot(page, 'endpoints');

    await publishOffsets(relay, tenant, [{ type: 'com.example.hook', data: { n: 1 } }]);
    await within(
      (async () => {
        while (receiver.deliveries.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      })(),
      'the receiver to get the webhook',
    );
    const webhookId = receiver.deliveries[0]?.headers['webhook-id'];
    await page.getByRole('link', { name: 'Deliveries' }).click();
    const row = page.getByRole('row').filter({ hasText: String(webhookId) });
    for (let i = 0; i < 50 && !(await row.getByText('failed').isVisible()); i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(100);
    }
    await row.getByText('failed').waitFor({ timeout: 1000 });
    await row.getByText('HTTP 500', { exact: false }).first().waitFor();
    // The delivery's id is its webhook-id, and copyable.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    await row.getByRole('button', { name: `Copy ${webhookId}` }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), webhookId);
    await row.getByRole('button', { name: String(webhookId), exact: true }).click();
    await page.getByRole('cell', { name: 'receiver broke: database down' }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'Deliveries');
    await shoot(page, 'deliveries');

    // The receiver recovers; Retry sends the same webhook-id, and the row says succeeded.
    answer = 204;
    await row.getByRole('button', { name: 'Retry' }).click();
    for (let i = 0; i < 50 && !(await row.getByText('succeeded').isVisible()); i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(100);
    }
    await row.getByText('succeeded').waitFor({ timeout: 1000 });
    assert.equal(receiver.deliveries.length, 2);
    assert.equal(receiver.deliveries[1]?.headers['webhook-id'], webhookId);

    // The failure that ran out of attempts told the tenant: a system event in "Events", marked as such.
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByRole('button', { name: 'Load older' }).click();
    const exhausted = page
      .getByRole('row')
      .filter({ has: page.getByRole('button', { name: 'com.tenantcast.webhook.delivery.exhausted' }) });
    await exhausted.first().waitFor();
    await exhausted.first().getByText('system', { exact: true }).waitFor();

    // Sign out forgets the token; an expired portal link shows the sign-in form with its message.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    const shortLived = await portalLink(relay.url, tenant, admin, 1);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await page.goto(shortLived);
    await page.getByText('Your link has expired; ask for a new one or sign in with a token').waitFor();
    assert.deepEqual(await axeViolations(page), [], 'Sign in');
    await shoot(page, 'sign-in');
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: `Events of ${tenant}` }).waitFor();

    // An operator's token over every tenant asks which tenant to open.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').fill(await relay.token({ scope: 'admin subscribe', tenants: ['*'] }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Tenant').fill(other);
    await page.getByRole('button', { name: 'Open tenant' }).click();
    await page.getByRole('heading', { name: `Events of ${other}` }).waitFor();

    // A phone's width: the page itself does not scroll sideways (wide tables scroll in their box), and axe is content.
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok(
      await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
      'the page scrolls sideways at 390 px',
    );
    assert.deepEqual(await axeViolations(page), [], 'Events at 390 px');
    await shoot(page, 'phone');

    assert.deepEqual(foreign, [], 'requests outside the console origin and the gateway');
    assert.deepEqual(pageErrors, []);
  },
);

test(
  'the console’s endpoint actions do what they say: Edit, Rotate secret, Disable/Enable, Replay, Delete (checked through the API)',
  needsChromium,
  async (t) => {
    const { stack, tenant, admin, page } = await openConsole(t, 'console-actions');
    const { relay } = stack;
    const receiver = await startReceiver(t);
    const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (res.status === 204 ? undefined : await res.json()) as T };
    };
    const created = await api<{ id: string; secret: string }>('POST', '', { url: receiver.url, description: 'before' });
    const { id, secret } = created.body;
    await publishOffsets(relay, tenant, [{ type: 'com.example.one', data: {} }]);
    await within(
      (async () => {
        while (receiver.deliveries.length < 1) await new Promise((resolve) => setTimeout(resolve, 50));
      })(),
      'the first delivery',
    );

    await page.goto(await portalLink(relay.url, tenant, admin));
    await page.getByRole('link', { name: 'Endpoints' }).click();

    // Edit: the description changes; the id and the secret stay.
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Description').fill('after');
    assert.deepEqual(await axeViolations(page), [], 'Edit');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: /after/ }).waitFor();
    const edited = await api<{ id: string; description: string; secret: string }>('GET', `/${id}`);
    assert.deepEqual([edited.body.id, edited.body.description, edited.body.secret], [id, 'after', secret]);

    // Rotate secret: the new secret is shown once and is the endpoint's now.
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('button', { name: 'Rotate now' }).click();
    const shown = await page.getByText(/New secret, shown only now: whsec_/).textContent();
    const rotated = await api<{ secret: string; previousSecretExpiresAt: string }>('GET', `/${id}`);
    assert.notEqual(rotated.body.secret, secret);
    assert.ok(shown?.includes(rotated.body.secret), `${shown} names the new secret`);
    assert.ok(rotated.body.previousSecretExpiresAt, 'the old secret has a grace');
    assert.deepEqual(await axeViolations(page), [], 'Rotate secret');
    await page.getByRole('button', { name: 'Close' }).click();

    // Disable, then Enable.
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('button', { name: 'Enable' }).waitFor();
    const disabled = await api<{ disabled: boolean; disabledReason: string }>('GET', `/${id}`);
    assert.deepEqual([disabled.body.disabled, disabled.body.disabledReason], [true, 'manual']);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('button', { name: 'Disable' }).waitFor();
    assert.equal((await api<{ disabled: boolean }>('GET', `/${id}`)).body.disabled, false);

    // Replay (the whole range): the stored event is delivered again.
    const before = receiver.deliveries.length;
    await page.getByRole('button', { name: 'Replay' }).click();
    assert.deepEqual(await axeViolations(page), [], 'Replay');
    await page.getByRole('button', { name: 'Start replay' }).click();
    await page.getByText(/Replay queued: \d+ deliveries/).waitFor();
    await within(
      (async () => {
        while (receiver.deliveries.length <= before) await new Promise((resolve) => setTimeout(resolve, 50));
      })(),
      'the replayed delivery',
    );
    await page.getByRole('button', { name: 'Close' }).click();

    // Delete, confirmed: the endpoint is gone.
    await page.getByRole('button', { name: 'Delete' }).click();
    assert.deepEqual(await axeViolations(page), [], 'Delete');
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await page
      .getByText('No endpoints yet', { exact: false })
      .or(page.getByRole('button', { name: 'Add endpoint' }))
      .first()
      .waitFor();
    assert.equal((await api('GET', `/${id}`)).status, 404);
  },
);
