import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { uniqueTenant, until } from '@tenantcast/testkit';
import { Webhook } from 'standardwebhooks';
import { publishDrafts } from '../testing/publish-drafts.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';

// The operator dashboard (bull-board at /admin/queues): its guard, and failed deliveries retried
// through its API.

const QUEUE = 'webhook-deliveries';

interface Hit {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

interface Receiver {
  url: string;
  hits: Hit[];
  respond: () => { status: number; body?: string };
}

/** A bull-board job, as its API lists it. */
interface BoardJob {
  id: string;
  attempts: number;
  failedReason?: string;
  finishedOn?: number;
  data: { tenantid: string; endpointId: string; offset: string; webhookId: string };
}

/** A redis-server, a relay and a receiver of the test's own, closed after it: the relay, Redis, then the receiver. */
async function setup(
  t: TestContext,
  respond: Receiver['respond'] = () => ({ status: 204 }),
): Promise<{ relay: TestRelay; receiver: Receiver }> {
  // Jobs to a failing receiver must fail for good within a second here: no circuit breaker to hold them.
  const { relay, close } = await startRelayWithRedis({
    webhookAllowPrivate: true,
    webhookRetrySchedule: [50, 100, 100],
    webhookCircuitFailures: 1000,
  });
  t.after(close);
  const receiver: Receiver = { url: '', hits: [], respond };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = receiver.respond();
      receiver.hits.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: answer.status });
      res.writeHead(answer.status).end(answer.body ?? '');
    });
  });
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { relay, receiver };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function register(relay: TestRelay, tenant: string, url: string): Promise<{ id: string; secret: string }> {
  const token = await relay.token({ scope: 'admin', tenants: [tenant] });
  const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { id: string; secret: string };
}

async function publish(relay: TestRelay, tenant: string, count: number): Promise<string[]> {
  const drafts = Array.from({ length: count }, (_, i) => ({ type: 'com.example.job', data: { i } }));
  return (await publishDrafts(relay, tenant, drafts)).map((a) => a.offset);
}

/** The jobs of the delivery queue in `status`, through bull-board's API. */
async function boardJobs(
  relay: TestRelay,
  authorization: string,
  status: 'failed' | 'completed' | 'delayed' | 'waiting',
): Promise<BoardJob[]> {
  const res = await fetch(`${relay.url}/admin/queues/api/queues?activeQueue=${QUEUE}&status=${status}&page=1&jobsPerPage=50`, {
    headers: { authorization },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { queues: Array<{ name: string; jobs: BoardJob[]; counts: Record<string, number> }> };
  const queue = body.queues.find((q) => q.name === QUEUE);
  assert.ok(queue !== undefined, `the board lists ${QUEUE}: ${JSON.stringify(body.queues.map((q) => q.name))}`);
  return queue.jobs;
}

describe('dashboard guard', () => {
  test('401 with a Basic challenge without credentials; an admin token over every tenant gets in as basic-auth password or Bearer', async (t) => {
    const { relay } = await setup(t);
    for (const path of ['/admin/queues', '/admin/queues/', `/admin/queues/queue/${QUEUE}`, '/admin/queues/api/queues']) {
      const res = await fetch(`${relay.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"/, path);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'TC_ERR_UNAUTHORIZED');
      assert.match(body.error.message, /admin token/);
    }
    // A retry is refused without credentials too.
    const retry = await fetch(`${relay.url}/admin/queues/api/queues/${QUEUE}/retry/failed`, { method: 'PUT' });
    assert.equal(retry.status, 401);

    const root = await relay.token({ scope: 'admin', tenants: ['*'] });
    for (const authorization of [
      basic('operator', root),
      basic('', root),
      basic('any name at all', root),
      `Bearer ${root}`,
      `bearer ${root}`,
    ]) {
      const page = await fetch(`${relay.url}/admin/queues`, { headers: { authorization } });
      assert.equal(page.status, 200, authorization.slice(0, 20));
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await page.text(), /tenantcast deliveries/);
      const api = await fetch(`${relay.url}/admin/queues/api/queues`, { headers: { authorization } });
      assert.equal(api.status, 200);
      const { queues } = (await api.json()) as { queues: Array<{ name: string }> };
      assert.deepEqual(
        queues.map((q) => q.name),
        [QUEUE],
      );
    }
  });

  test('403 for a token with admin scope over only some tenants, or without admin scope', async (t) => {
    const { relay } = await setup(t);
    const some = await relay.token({ scope: 'admin', tenants: ['acme', 'globex'] });
    const noAdmin = await relay.token({ scope: 'publish subscribe', tenants: ['*'] });
    for (const token of [some, noAdmin]) {
      for (const authorization of [basic('operator', token), `Bearer ${token}`]) {
        for (const [method, path] of [
          ['GET', '/admin/queues'],
          ['GET', '/admin/queues/api/queues'],
          ['PUT', `/admin/queues/api/queues/${QUEUE}/retry/failed`],
        ] as const) {
          const res = await fetch(`${relay.url}${path}`, { method, headers: { authorization } });
          assert.equal(res.status, 403, `${method} ${path}`);
          assert.equal(res.headers.get('www-authenticate'), null, 'no challenge: signing in again with the same token will not help');
          const body = (await res.json()) as { error: { message: string } };
          assert.match(body.error.message, /scope "admin" over every tenant/);
        }
      }
    }
  });

  test('401 with a challenge for a token that does not verify', async (t) => {
    const { relay } = await setup(t);
    const foreign = await mintToken({ sub: 'x', scope: 'admin', tenants: ['*'] }, 'another-secret-0123456789');
    const expired = await relay.token({ scope: 'admin', tenants: ['*'], expiresIn: -10 });
    for (const authorization of [
      basic('operator', 'not-a-token'),
      basic('operator', foreign),
      basic('operator', expired),
      basic('operator', ''),
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Bearer ${foreign}`,
      'Digest username="x"',
    ]) {
      const res = await fetch(`${relay.url}/admin/queues/api/queues`, { headers: { authorization } });
      assert.equal(res.status, 401, authorization.slice(0, 30));
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /);
    }
  });
});

describe('failed deliveries on the dashboard', () => {
  test('when retries run out the job stays failed with the last status and body; retried through the API once the receiver is fixed, it is delivered with the same webhook-id', async (t) => {
    let broken = true;
    const { relay, receiver } = await setup(t, () =>
      broken ? { status: 500, body: 'upstream exploded: database is down' } : { status: 204 },
    );
    const tenant = uniqueTenant('dash');
    const endpoint = await register(relay, tenant, receiver.url);
    const [offset] = await publish(relay, tenant, 1);
    const root = await relay.token({ scope: 'admin', tenants: ['*'] });
    const auth = basic('operator', root);

    await until(async () => (await boardJobs(relay, auth, 'failed')).length === 1, 'the failed job on the board');
    const [job] = await boardJobs(relay, auth, 'failed');
    assert.equal(job!.id, `${endpoint.id}_${offset}`, 'the job id is derived from the endpoint and the event');
    assert.equal(job!.attempts, 4, 'the schedule [50, 100, 100] gives 4 attempts');
    assert.match(job!.failedReason ?? '', /HTTP 500/);
    assert.match(job!.failedReason ?? '', /upstream exploded: database is down/);
    assert.equal(job!.data.webhookId, `msg_${tenant}_${offset}`);
    assert.equal(receiver.hits.length, 4);

    // Each attempt is in the job's log.
    const logs = await fetch(`${relay.url}/admin/queues/api/queues/${QUEUE}/${job!.id}/logs`, { headers: { authorization: auth } });
    assert.equal(logs.status, 200);
    const lines = (await logs.json()) as string[];
    assert.equal(lines.length, 4, JSON.stringify(lines));
    assert.match(lines[0]!, /^attempt 1: HTTP 500: upstream exploded/);

    broken = false;
    const retry = await fetch(`${relay.url}/admin/queues/api/queues/${QUEUE}/${encodeURIComponent(job!.id)}/retry`, {
      method: 'PUT',
      headers: { authorization: auth },
    });
    assert.ok(retry.status >= 200 && retry.status < 300, `retry answered ${retry.status}: ${await retry.text()}`);
    await until(() => receiver.hits.some((h) => h.status === 204), 'the retried delivery');

    const ids = new Set(receiver.hits.map((h) => h.headers['webhook-id']));
    assert.deepEqual(ids, new Set([`msg_${tenant}_${offset}`]), 'the retried delivery has the webhook-id of the failed attempts');
    const delivered = receiver.hits.at(-1)!;
    new Webhook(endpoint.secret).verify(delivered.body, delivered.headers as Record<string, string>);
    assert.equal(receiver.hits.length, 5);

    await until(async () => (await boardJobs(relay, auth, 'completed')).some((j) => j.id === job!.id), 'the job to show completed');
    assert.deepEqual(await boardJobs(relay, auth, 'failed'), []);
  });

  test('retry all failed jobs of the queue at once', async (t) => {
    let broken = true;
    const { relay, receiver } = await setup(t, () => (broken ? { status: 502, body: 'bad gateway' } : { status: 200 }));
    const tenant = uniqueTenant('dash-all');
    await register(relay, tenant, receiver.url);
    const offsets = await publish(relay, tenant, 3);
    const auth = `Bearer ${await relay.token({ scope: 'admin', tenants: ['*'] })}`;
    await until(async () => (await boardJobs(relay, auth, 'failed')).length === 3, 'three failed jobs');
    const failed = await boardJobs(relay, auth, 'failed');
    for (const job of failed) assert.match(job.failedReason ?? '', /HTTP 502: bad gateway/);

    broken = false;
    const res = await fetch(`${relay.url}/admin/queues/api/queues/${QUEUE}/retry/failed`, {
      method: 'PUT',
      headers: { authorization: auth },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { retried: 3, skipped: 0 });
    await until(() => receiver.hits.filter((h) => h.status === 200).length === 3, 'the three retried deliveries');
    const succeeded = receiver.hits.filter((h) => h.status === 200).map((h) => String(h.headers['webhook-id']));
    assert.deepEqual(succeeded.sort(), offsets.map((o) => `msg_${tenant}_${o}`).sort());
    await until(async () => (await boardJobs(relay, auth, 'failed')).length === 0, 'no failed jobs left');
  });
});

/** Every job of the delivery queue, whatever its state, through bull-board's API. */
async function jobCount(relay: TestRelay, authorization: string): Promise<number> {
  const res = await fetch(`${relay.url}/admin/queues/api/queues?activeQueue=${QUEUE}`, { headers: { authorization } });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
  const counts = body.queues.find((q) => q.name === QUEUE)?.counts ?? {};
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** A relay whose receiver always fails, with one failed job; an operator's credentials, and how many jobs the queue holds. */
async function oneFailedJob(t: TestContext, name: string): Promise<{ relay: TestRelay; auth: string; job: BoardJob; jobs: number }> {
  const { relay, receiver } = await setup(t, () => ({ status: 500, body: 'down' }));
  const tenant = uniqueTenant(name);
  await register(relay, tenant, receiver.url);
  await publish(relay, tenant, 1);
  const auth = basic('operator', await relay.token({ scope: 'admin', tenants: ['*'] }));
  await until(async () => (await boardJobs(relay, auth, 'failed')).length === 1, 'the failed job');
  const [job] = await boardJobs(relay, auth, 'failed');
  return { relay, auth, job: job!, jobs: await jobCount(relay, auth) };
}

const NEW_JOB = JSON.stringify({ name: 'delivery', data: { tenantid: 't', endpointId: 'wh_x', offset: '1-0', webhookId: 'msg_x' } });

describe('dashboard against other sites', () => {
  test('a write from another site (its Origin, or Sec-Fetch-Site: cross-site or same-site) is refused 403 TC_ERR_CROSS_SITE and changes nothing', async (t) => {
    const { relay, auth, job, jobs } = await oneFailedJob(t, 'dash-csrf');

    const foreigners: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: relay.url.replace('127.0.0.1', 'localhost') },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      // Sec-Fetch-Site decides when a browser sends it, whatever the Origin.
      { 'sec-fetch-site': 'cross-site', origin: new URL(relay.url).origin },
    ];
    for (const foreign of foreigners) {
      for (const [method, path, body] of [
        ['POST', `/admin/queues/api/queues/${QUEUE}/add`, NEW_JOB],
        ['PUT', `/admin/queues/api/queues/${QUEUE}/${encodeURIComponent(job.id)}/retry`, undefined],
        ['PUT', `/admin/queues/api/queues/${QUEUE}/retry/failed`, undefined],
      ] as const) {
        const what = `${method} ${path} ${JSON.stringify(foreign)}`;
        const res = await fetch(`${relay.url}${path}`, {
          method,
          headers: { authorization: auth, 'content-type': 'text/plain', ...foreign },
          body,
        });
        assert.equal(res.status, 403, what);
        const answer = (await res.json()) as { error: { code: string; message: string } };
        assert.equal(answer.error.code, 'TC_ERR_CROSS_SITE', what);
        assert.match(answer.error.message, /another site/);
      }
    }
    assert.equal(await jobCount(relay, auth), jobs, 'no job was added');
    assert.deepEqual(
      (await boardJobs(relay, auth, 'failed')).map((j) => j.id),
      [job.id],
      'the failed job was not retried',
    );
    // Reads from anywhere are answered: they change nothing, and a page of another site cannot read the answer.
    const read = await fetch(`${relay.url}/admin/queues/api/queues`, { headers: { authorization: auth, origin: 'https://evil.example' } });
    assert.equal(read.status, 200);
  });

  test("retries from the dashboard's own page (its Origin, Sec-Fetch-Site: same-origin or none) and without either header still work", async (t) => {
    let broken = true;
    const { relay, receiver } = await setup(t, () => (broken ? { status: 500, body: 'down' } : { status: 204 }));
    const tenant = uniqueTenant('dash-own');
    await register(relay, tenant, receiver.url);
    await publish(relay, tenant, 3);
    const auth = `Bearer ${await relay.token({ scope: 'admin', tenants: ['*'] })}`;
    await until(async () => (await boardJobs(relay, auth, 'failed')).length === 3, 'three failed jobs');
    broken = false;
    const [a, b, c] = await boardJobs(relay, auth, 'failed');
    for (const [job, own] of [
      [a!, { origin: new URL(relay.url).origin }],
      [b!, { 'sec-fetch-site': 'same-origin', origin: new URL(relay.url).origin }],
      [c!, { 'sec-fetch-site': 'none' }],
    ] as const) {
      const res = await fetch(`${relay.url}/admin/queues/api/queues/${QUEUE}/${encodeURIComponent(job.id)}/retry`, {
        method: 'PUT',
        headers: { authorization: auth, ...own },
      });
      assert.ok(res.status >= 200 && res.status < 300, `${JSON.stringify(own)}: ${res.status} ${await res.text()}`);
    }
    await until(() => receiver.hits.filter((h) => h.status === 204).length === 3, 'the three retried deliveries');
    // Without Origin or Sec-Fetch-Site (curl, scripts): the token is sent on purpose.
    const all = await fetch(`${relay.url}/admin/queues/api/queues/${QUEUE}/retry/failed`, {
      method: 'PUT',
      headers: { authorization: auth },
    });
    assert.equal(all.status, 200, await all.clone().text());
    assert.deepEqual(await all.json(), { retried: 0, skipped: 0 });
  });

  test("every answer of the dashboard (the page, the API, a 401, a 403) forbids framing: X-Frame-Options DENY and CSP frame-ancestors 'none'", async (t) => {
    const { relay } = await setup(t);
    const auth = basic('operator', await relay.token({ scope: 'admin', tenants: ['*'] }));
    for (const [path, init, status] of [
      ['/admin/queues', { headers: { authorization: auth } }, 200],
      [`/admin/queues/queue/${QUEUE}`, { headers: { authorization: auth } }, 200],
      ['/admin/queues/api/queues', { headers: { authorization: auth } }, 200],
      ['/admin/queues', {}, 401],
      ['/admin/queues/api/queues', { headers: { authorization: basic('x', 'not-a-token') } }, 401],
      [
        `/admin/queues/api/queues/${QUEUE}/retry/failed`,
        { method: 'PUT', headers: { authorization: auth, origin: 'https://evil.example' } },
        403,
      ],
    ] as const) {
      const res = await fetch(`${relay.url}${path}`, init);
      assert.equal(res.status, status, path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.match(res.headers.get('content-security-policy') ?? '', /(^|;)\s*frame-ancestors 'none'/, path);
    }
  });

  test('adding a job and editing a job (data, delay, priority) are off: 405 TC_ERR_METHOD_NOT_ALLOWED with an empty Allow, and nothing changes', async (t) => {
    const { relay, auth, job, jobs } = await oneFailedJob(t, 'dash-edit');
    const id = encodeURIComponent(job.id);
    for (const [method, path, body] of [
      ['POST', `/admin/queues/api/queues/${QUEUE}/add`, NEW_JOB],
      ['PATCH', `/admin/queues/api/queues/${QUEUE}/${id}/update-data`, JSON.stringify({ data: { ...job.data, webhookId: 'msg_forged' } })],
      ['PATCH', `/admin/queues/api/queues/${QUEUE}/${id}/priority`, JSON.stringify({ priority: 1 })],
      ['PATCH', `/admin/queues/api/queues/${QUEUE}/${id}/delay`, JSON.stringify({ delay: 1000 })],
    ] as const) {
      const res = await fetch(`${relay.url}${path}`, {
        method,
        headers: { authorization: auth, 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
        body,
      });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), '', 'an empty Allow: turned off by configuration (RFC 9110 §10.2.1)');
      const answer = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(answer.error.code, 'TC_ERR_METHOD_NOT_ALLOWED');
      assert.match(answer.error.message, /replay/);
    }
    assert.equal(await jobCount(relay, auth), jobs, 'no job was added');
    const [after] = await boardJobs(relay, auth, 'failed');
    assert.deepEqual(after!.data, job.data, 'the job data is unchanged');
  });
});
