import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { until } from '@tenantcast/testkit';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { CHROMIUM, CHROMIUM_ARGS, needsChromium } from '../support/browser.ts';
import { type RelayStack, startRelayStack } from '../support/stack.ts';

// An operator in a real browser: headless Debian chromium, driven by playwright-core, signs in to the
// dashboard with an admin token as the basic-auth password, finds the failed delivery and retries it.

const QUEUE = 'webhook-deliveries';

/** The job card's button whose tooltip (its only visible label) reads `label`. */
async function buttonWithTooltip(page: Page, card: Locator, label: string): Promise<Locator> {
  const buttons = card.getByRole('button');
  const count = await buttons.count();
  for (let i = 0; i < count; i++) {
    await buttons.nth(i).hover();
    const tooltip = page.getByText(label, { exact: true });
    if (
      await tooltip.waitFor({ state: 'visible', timeout: 2000 }).then(
        () => true,
        () => false,
      )
    ) {
      return buttons.nth(i);
    }
    await page.mouse.move(0, 0);
  }
  throw new Error(`no button of the job card shows the tooltip "${label}"`);
}

test('an operator signs in, retries the failed delivery from the dashboard, and sees it complete', {
  ...needsChromium,
  timeout: 90_000,
}, async (t) => {
  let broken = true;
  const hits: Array<{ headers: IncomingHttpHeaders; body: string; status: number }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = broken ? 500 : 204;
      hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end(broken ? 'receiver is down' : '');
    });
  });
  let stack: RelayStack | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  t.after(async () => {
    if (page !== undefined && !page.isClosed()) await page.screenshot({ path: '/tmp/dashboard-browser-last.png' }).catch(() => {});
    await browser?.close().catch(() => {});
    await stack?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Jobs to a failing receiver fail for good within a second here: no circuit breaker to hold them.
  stack = await startRelayStack({
    relay: { webhookAllowPrivate: true, webhookRetrySchedule: [50, 100, 100], webhookCircuitFailures: 1000 },
  });
  const { relay } = stack;

  // A delivery that fails for good: four attempts against a receiver that answers 500.
  const tenant = 'browser';
  const admin = await relay.token({ scope: 'admin', tenants: ['*'] });
  const created = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` }),
  });
  assert.equal(created.status, 201);
  const endpoint = (await created.json()) as { id: string; secret: string };
  const publisher = await relay.token({ scope: 'publish', tenants: [tenant] });
  const published = await fetch(`${relay.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({ specversion: '1.0', id: 'b-1', source: 'browser-test', type: 'com.example.order.placed', tenantid: tenant }),
  });
  assert.equal(published.status, 202);
  const { accepted } = (await published.json()) as { accepted: Array<{ offset: string }> };
  const offset = accepted[0]!.offset;
  const jobId = `${endpoint.id}_${offset}`;
  await until(async () => {
    const res = await fetch(`${relay.url}/admin/queues/api/queues?activeQueue=${QUEUE}&status=failed&page=1&jobsPerPage=50`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const { queues } = (await res.json()) as { queues: Array<{ name: string; jobs: Array<{ id: string }> }> };
    return queues.find((q) => q.name === QUEUE)?.jobs.some((j) => j.id === jobId) ?? false;
  }, 'the delivery to fail for good');
  assert.equal(hits.length, 4);
  broken = false;

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });

  // Without credentials the browser is challenged and gets nothing (headless, Playwright cancels the
  // login prompt; a page that answered 401 would do as well).
  const anonymous = await browser.newContext();
  const refused = await (await anonymous.newPage()).goto(`${relay.url}/admin/queues`).then(
    (response) => String(response?.status()),
    (error: Error) => error.message,
  );
  assert.match(refused, /^401$|ERR_INVALID_AUTH_CREDENTIALS/);
  await anonymous.close();

  // The login prompt's answer: any user name, the admin token as the password.
  const context = await browser.newContext({ httpCredentials: { username: 'operator', password: admin } });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  const opened = await page.goto(`${relay.url}/admin/queues`);
  assert.equal(opened?.status(), 200);
  await page.getByText('tenantcast deliveries').first().waitFor();

  // Overview → the queue → its failed jobs.
  await page.getByRole('link', { name: QUEUE }).first().click();
  await page.waitForURL(`**/admin/queues/queue/${QUEUE}**`);
  await page
    .getByRole('link', { name: /^failed/i })
    .first()
    .click();
  await page.waitForURL(/status=failed/);
  const idText = page.getByText(jobId, { exact: true });
  await idText.waitFor();
  await page
    .getByText(/HTTP 500: receiver is down/)
    .first()
    .waitFor();

  // The job card holds its id and its action buttons; the retry button is labelled by its tooltip.
  const card = idText.locator('xpath=ancestor::*[.//button][1]');
  const retry = await buttonWithTooltip(page, card, 'Retry');
  await retry.click();
  await page.getByRole('button', { name: 'Confirm' }).click();

  await until(() => hits.some((h) => h.status === 204), 'the retried delivery at the receiver');
  const delivered = hits.find((h) => h.status === 204)!;
  assert.equal(delivered.headers['webhook-id'], `msg_${tenant}_${offset}`);
  assert.ok(
    hits.every((h) => h.headers['webhook-id'] === delivered.headers['webhook-id']),
    'the retry has the webhook-id of the failed attempts',
  );
  const event = new Webhook(endpoint.secret).verify(delivered.body, delivered.headers as Record<string, string>) as { id: string };
  assert.equal(event.id, 'b-1');

  // The dashboard shows it completed, and no longer failed.
  await page
    .getByRole('link', { name: /^completed/i })
    .first()
    .click();
  await page.waitForURL(/status=completed/);
  await page.getByText(jobId, { exact: true }).waitFor();
  await page
    .getByText(/Finished at|Completed at/i)
    .first()
    .waitFor();
  await page
    .getByRole('link', { name: /^failed/i })
    .first()
    .click();
  await page.waitForURL(/status=failed/);
  await page.getByText(jobId, { exact: true }).waitFor({ state: 'detached' });
  await page.getByText('No failed jobs in this queue.').waitFor();
});
