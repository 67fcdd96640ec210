import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { WebhookEventTypes } from '@tenantcast/sdk';
import { uniqueTenant, until } from '@tenantcast/testkit';
import { Webhook } from 'standardwebhooks';
import type { RelayConfig } from '../config.ts';
import { endpointsApi } from '../testing/endpoints-api.ts';
import { publishDrafts } from '../testing/publish-drafts.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { type Answer, type Hit, type Receiver, startReceiver } from '../testing/webhook-receiver.ts';

// An endpoint's lifecycle (issue #17): PATCH keeps the id, the secret and the position in the
// stream; disabling (by hand, by a 410, by auto-disable) and enabling again resumes from where it
// stopped; each step is a system event in the tenant's stream.

interface Stack {
  relay: TestRelay;
  tenant: string;
  admin: string;
  api: ReturnType<typeof endpointsApi>;
  receiver(respond?: (hit: Hit, attempt: number) => Answer): Promise<Receiver>;
}

async function stack(t: TestContext, config: Partial<RelayConfig> = {}): Promise<Stack> {
  const { relay, close } = await startRelayWithRedis({ webhookAllowPrivate: true, webhookCircuitFailures: 1000, ...config });
  t.after(close);
  const tenant = uniqueTenant('lifecycle');
  const admin = await relay.token({ scope: 'admin subscribe', tenants: [tenant] });
  return {
    relay,
    tenant,
    admin,
    api: endpointsApi(relay, tenant, admin),
    async receiver(respond) {
      const receiver = await startReceiver(respond);
      t.after(() => receiver.close());
      return receiver;
    },
  };
}

const ids = (hits: Hit[]) => new Set(hits.map((hit) => String(hit.headers['webhook-id'])));
const types = (hits: Hit[]) => hits.map((hit) => (JSON.parse(hit.body) as { type: string }).type);
const msg = (tenant: string, offset: string) => `msg_${tenant}_${offset}`;

describe('PATCH /v1/tenants/{t}/webhooks/{id}', () => {
  test('updates keep the id, the secret and createdAt, and every event stored while the endpoint is patched reaches it', async (t) => {
    const s = await stack(t);
    const a = await s.receiver();
    const b = await s.receiver();
    const endpoint = await s.api.create({ url: a.url, description: 'first' });

    // Publishing and patching at once: the URL moves between two receivers, the filters and the
    // description change; every event must arrive at one of them.
    const offsets: string[] = [];
    const publishing = (async () => {
      for (let n = 0; n < 40; n++) {
        const batch = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.a', data: { n } }, { type: 'com.example.b' }]);
        offsets.push(...batch.map((e) => e.offset));
      }
    })();
    let patches = 0;
    const patching = (async () => {
      for (let n = 0; n < 30; n++) {
        await s.api.patched(endpoint.id, {
          url: n % 2 === 0 ? b.url : a.url,
          description: `patch ${n}`,
          filters: n % 3 === 0 ? [] : [{ prefix: { type: 'com.example.' } }],
        });
        patches++;
      }
    })();
    await Promise.all([publishing, patching]);
    assert.equal(patches, 30);
    await until(() => ids([...a.hits, ...b.hits]).size >= offsets.length, 'every event at one receiver or the other', 20_000);
    assert.deepEqual([...ids([...a.hits, ...b.hits])].sort(), offsets.map((o) => msg(s.tenant, o)).sort());

    const shown = await s.api.get(endpoint.id);
    assert.equal(shown.id, endpoint.id);
    assert.equal(shown.secret, endpoint.secret, 'the secret is kept');
    assert.equal(shown.createdAt, endpoint.createdAt, 'the position in the stream is kept');
    assert.equal(shown.description, 'patch 29');
    assert.equal(shown.url, a.url);
    // Every delivery verifies with the secret the endpoint was created with.
    const hook = new Webhook(endpoint.secret);
    for (const hit of [...a.hits, ...b.hits]) hook.verify(hit.body, hit.headers as Record<string, string>);
  });

  test('concurrent PATCHes of different fields do not lose each other’s changes', async (t) => {
    const s = await stack(t);
    const a = await s.receiver();
    const b = await s.receiver();
    const endpoint = await s.api.create({ url: a.url });
    for (let round = 0; round < 6; round++) {
      const url = round % 2 === 0 ? b.url : a.url;
      const filters = [{ exact: { subject: `round-${round}` } }];
      const answers = await Promise.all([
        s.api.patch(endpoint.id, { url }),
        s.api.patch(endpoint.id, { filters }),
        ...Array.from({ length: 20 }, (_, n) => s.api.patch(endpoint.id, { description: `r${round} d${n}` })),
      ]);
      assert.ok(
        answers.every((x) => x.status === 200),
        JSON.stringify(answers.find((x) => x.status !== 200)),
      );
      const shown = await s.api.get(endpoint.id);
      assert.equal(shown.url, url, `round ${round}: the URL change was kept`);
      assert.deepEqual(shown.filters, filters, `round ${round}: the filters change was kept`);
      assert.match(shown.description, new RegExp(`^r${round} d\\d+$`));
    }
  });

  test('400 for what a create refuses, unknown fields and a non-boolean disabled; 404 for an unknown endpoint; 403 for another tenant’s token; 401 without one', async (t) => {
    const s = await stack(t, { webhookAllowPrivate: false });
    const endpoint = await s.api.create({ url: 'https://hooks.example.com/' });
    const refusals: Array<[unknown, RegExp, string]> = [
      [{ url: 'ftp://hooks.example.com/' }, /"url" must use http or https/, '/url'],
      [{ url: 'http://127.0.0.1:9/' }, /private address \(127\.0\.0\.1\)/, '/url'],
      [{ url: 'https://user:pw@hooks.example.com/' }, /must not hold credentials/, '/url'],
      [{ filters: [{ exact: {} }] }, /filter|attribute/i, '/filters/0/exact'],
      [{ description: 'x'.repeat(1025) }, /"description" must be a string of at most 1024 characters/, '/description'],
      [{ disabled: 'yes' }, /"disabled" must be true \(stop deliveries\) or false \(resume them\)/, '/disabled'],
      [{ secret: 'whsec_mine' }, /Unknown field "secret"; an update takes url, filters, description and disabled/, '/secret'],
    ];
    for (const [patch, message, path] of refusals) {
      const { status, body } = await s.api.patch(endpoint.id, patch);
      assert.equal(status, 400, JSON.stringify(patch));
      assert.equal(body.error?.code, 'TC_ERR_VALIDATION');
      assert.match(body.error?.message ?? '', message);
      assert.equal(body.error?.details?.[0]?.path, path);
    }
    assert.deepEqual(await s.api.get(endpoint.id), endpoint, 'a refused PATCH changes nothing');

    const missing = await s.api.patch(`wh_${'0'.repeat(32)}`, { description: 'x' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error?.code, 'TC_ERR_NOT_FOUND');
    const other = await s.relay.token({ scope: 'admin', tenants: ['someone-else'] });
    const forbidden = await s.api.patch(endpoint.id, { description: 'x' }, other);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.error?.code, 'TC_ERR_FORBIDDEN_TENANT');
    const publisher = await s.relay.token({ scope: 'publish', tenants: [s.tenant] });
    assert.equal((await s.api.patch(endpoint.id, { description: 'x' }, publisher)).status, 403);
    const res = await fetch(`${s.relay.url}/v1/tenants/${s.tenant}/webhooks/${endpoint.id}`, { method: 'PATCH' });
    assert.equal(res.status, 401);
  });
});

describe('disable and enable again', () => {
  test('disabled by hand: nothing is delivered, and enabling it delivers what was stored meanwhile; both are system events', async (t) => {
    const s = await stack(t);
    const receiver = await s.receiver();
    const endpoint = await s.api.create({ url: receiver.url });
    const [before] = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.before' }]);
    await until(() => receiver.hits.length === 1, 'the delivery before the disable');

    const disabled = await s.api.patched(endpoint.id, { disabled: true });
    assert.equal(disabled.disabled, true);
    assert.equal(disabled.disabledReason, 'manual');
    assert.match(disabled.disabledDetail ?? '', /disabled through the API/);
    assert.equal(disabled.stoppedAt, before!.offset, 'it stopped after the last event it got');
    const missed = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.missed' }, { type: 'com.example.missed' }]);

    const enabled = await s.api.patched(endpoint.id, { disabled: false });
    assert.equal(enabled.disabled, false);
    assert.equal(enabled.disabledReason, null);
    assert.equal(enabled.stoppedAt, null);
    assert.deepEqual(enabled.resumed, { from: before!.offset, enqueued: 2, merged: 0, complete: true, last: missed.at(-1)!.offset });
    const after = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.after' }]);

    const expected = [before!, ...missed, ...after].map((e) => msg(s.tenant, e.offset));
    await until(() => ids(receiver.hits).size === expected.length, 'the missed events and the next one');
    assert.deepEqual([...ids(receiver.hits)].sort(), expected.sort());
    // The endpoint takes every type, yet gets no system event: it did not name com.tenantcast. types.
    assert.ok(types(receiver.hits).every((type) => type.startsWith('com.example.')));

    const told = (await s.api.history()).filter((e) => e.event.type.startsWith('com.tenantcast.'));
    assert.deepEqual(
      told.map((e) => [e.event.type, e.event.data]),
      [
        [WebhookEventTypes.disabled, { endpointId: endpoint.id, reason: 'manual' }],
        [WebhookEventTypes.enabled, { endpointId: endpoint.id }],
      ],
    );
  });

  test('after a 410, enabling again resumes where the endpoint stopped: the refused event and those stored while it was disabled arrive', async (t) => {
    const s = await stack(t);
    let gone = true;
    const receiver = await s.receiver(() => ({ status: gone ? 410 : 204 }));
    const endpoint = await s.api.create({ url: receiver.url });
    const [refused] = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.refused' }]);
    await until(async () => (await s.api.get(endpoint.id)).disabled, 'the 410 to disable the endpoint');
    const shown = await s.api.get(endpoint.id);
    assert.equal(shown.disabledReason, 'gone');
    assert.match(shown.disabledDetail ?? '', /410 Gone/);
    const missed = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.missed' }, { type: 'com.example.missed' }]);

    gone = false;
    const enabled = await s.api.patched(endpoint.id, { disabled: false });
    assert.equal(enabled.resumed?.complete, true);
    const expected = [refused!, ...missed].map((e) => msg(s.tenant, e.offset));
    await until(
      () => expected.every((id) => receiver.hits.some((hit) => hit.status === 204 && hit.headers['webhook-id'] === id)),
      'the resumed deliveries',
    );
    assert.ok(
      types(receiver.hits).every((type) => type.startsWith('com.example.')),
      'no system event about itself',
    );
    const told = (await s.api.history()).filter(
      (e) => e.event.type === WebhookEventTypes.disabled || e.event.type === WebhookEventTypes.enabled,
    );
    assert.deepEqual(
      told.map((e) => [e.event.type, e.event.data?.reason]),
      [
        [WebhookEventTypes.disabled, 'gone'],
        [WebhookEventTypes.enabled, undefined],
      ],
    );
  });

  test('enabling past the tenant’s cap of deliveries outstanding enables the endpoint and says where to replay from', async (t) => {
    const s = await stack(t, { webhookMaxOutstandingPerTenant: 3, webhookReplayMaxEvents: 2 });
    // Deliveries hang until the test ends, so that they stay outstanding.
    const receiver = await s.receiver(() => ({ status: 204, delayMs: 60_000 }));
    const endpoint = await s.api.create({ url: receiver.url });
    const disabled = await s.api.patched(endpoint.id, { disabled: true });
    const missed = await publishDrafts(
      s.relay,
      s.tenant,
      Array.from({ length: 5 }, () => ({ type: 'com.example.missed' })),
    );
    const enabled = await s.api.patched(endpoint.id, { disabled: false });
    assert.equal(enabled.disabled, false);
    assert.deepEqual(enabled.resumed, { from: disabled.stoppedAt, enqueued: 3, merged: 0, complete: false, last: missed[2]!.offset });
  });
});

describe('auto-disable', () => {
  test('an endpoint whose every attempt failed for WEBHOOK_DISABLE_AFTER_SECONDS is disabled (failing); subscribers and watching endpoints are told, the endpoint is not', async (t) => {
    const s = await stack(t, { webhookDisableAfterSeconds: 1, webhookRetrySchedule: Array.from({ length: 20 }, () => 200) });
    const failing = await s.receiver(() => ({ status: 500 }));
    const watcher = await s.receiver();
    // The failing endpoint asks for system events too: it still never gets those about itself.
    const endpoint = await s.api.create({
      url: failing.url,
      filters: [{ any: [{ prefix: { type: 'com.example.' } }, { prefix: { type: 'com.tenantcast.' } }] }],
    });
    await s.api.create({ url: watcher.url, filters: [{ exact: { type: WebhookEventTypes.disabled } }] });
    const [event] = await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.doomed' }]);

    await until(() => watcher.hits.length >= 1, 'the disabled event at the watching endpoint', 15_000);
    const told = JSON.parse(watcher.hits[0]!.body) as { type: string; data: Record<string, string> };
    assert.equal(told.type, WebhookEventTypes.disabled);
    assert.deepEqual(told.data, { endpointId: endpoint.id, reason: 'failing', deliveryId: msg(s.tenant, event!.offset) });

    const shown = await s.api.get(endpoint.id);
    assert.equal(shown.disabled, true);
    assert.equal(shown.disabledReason, 'failing');
    assert.ok(shown.failingSince !== null);
    assert.match(shown.disabledDetail ?? '', /every attempt failed since/);
    // It was tried for the window, not longer: the attempt past the window disabled it.
    const first = failing.hits[0]!.at;
    const last = failing.hits.at(-1)!.at;
    assert.ok(last - first >= 1000, `attempts spanned ${last - first} ms`);
    assert.ok(failing.hits.length < 21, 'disabled before its retries ran out');

    const history = await s.api.history();
    assert.ok(history.some((e) => e.event.type === WebhookEventTypes.disabled && e.event.data?.reason === 'failing'));
    assert.ok(failing.hits.every((hit) => !hit.body.includes('com.tenantcast.')));
  });

  test('one success stops the failure clock', async (t) => {
    const s = await stack(t, { webhookRetrySchedule: [1000] });
    let ok = false;
    const receiver = await s.receiver(() => ({ status: ok ? 204 : 503 }));
    const endpoint = await s.api.create({ url: receiver.url });
    assert.equal(endpoint.failingSince, null);
    await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.once' }]);
    await until(async () => (await s.api.get(endpoint.id)).failingSince !== null, 'the clock to start at the first failure');
    ok = true;
    await until(() => receiver.hits.length === 2, 'the retry');
    await until(async () => (await s.api.get(endpoint.id)).failingSince === null, 'the success to stop the clock');
    assert.equal((await s.api.get(endpoint.id)).disabled, false);
  });
});
