import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startGateway, type TestGateway } from '@tenantcast/gateway/testing';
import { type ReceivedEvent, type SubscriptionStatus, subscribe, TenantcastError } from '@tenantcast/sdk';
import { connect, scrapeMetric, sleep, until, within } from '@tenantcast/testkit';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { useRelayStack } from '../support/stack.ts';

// Refreshing a token without reconnecting (docs/protocol.md, "Refreshing the token"), end to end:
// a relay publishing all along, a gateway and a redis-server, tokens of a few seconds. Every offset
// the relay stored must arrive once, in order, on the one connection.

type Ticks = { 'com.example.tick': { n: number } };
type Message = Record<string, unknown> & { op: string };

const stack = useRelayStack();

/** A gateway of the test's own on the stack's streams, so that its connection counter is the test's alone. */
async function gatewayFor(t: Parameters<typeof onEnd>[0]): Promise<TestGateway> {
  const gateway = await startGateway(stack.redis, { keyPrefix: stack.relay.config.keyPrefix });
  onEnd(t, () => gateway.close());
  return gateway;
}

/** Publishes a tick every 50 ms until `stop()`, which resolves with every offset stored, in order. */
function publishAllAlong(tenant: string): { stop(): Promise<string[]> } {
  const stored: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      stored.push(...(await publishOffsets(stack.relay, tenant, ticks(1, n))));
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return stored;
    },
  };
}

/** The `exp` of a token, read without verifying it. */
const expOf = (token: string): number => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;

const connectionsOpened = async (gateway: TestGateway) =>
  (await scrapeMetric(gateway.metricsUrl, 'tenantcast_gateway_connections_opened_total')) ?? 0;

describe('a multiplexed connection refreshes its token without reconnecting', () => {
  test('5 refreshes across expiries of 3 s tokens, events published all along: every offset once, in order', async (t) => {
    const gateway = await gatewayFor(t);
    const tenant = await seededTenant(stack.relay, 'refresh5');
    const mint = () => stack.relay.token({ scope: 'subscribe', tenants: [tenant], expiresIn: 3 });
    const first = await mint();
    const client = await connect(t, `${gateway.wsUrl}/v1/connect`, { token: first, protocols: ['tenantcast.v1'] });
    const messages = () => client.messages as Message[];
    client.send({ op: 'subscribe', id: 's', tenantid: tenant });
    await client.until(() => messages().some((m) => m.op === 'subscribed'), 'subscribed');

    // The client refreshes when the gateway warns it, as the SDK does.
    const exps = [expOf(first)];
    client.ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as Message).op !== 'expiring') return;
      void mint().then((token) => {
        exps.push(expOf(token));
        client.send({ op: 'refresh', token });
      });
    });
    const publishing = publishAllAlong(tenant);
    const refreshed = () => messages().filter((m) => m.op === 'refreshed');
    await client.until(() => refreshed().length >= 5, '5 refreshes', 30_000);
    const stored = await publishing.stop();
    await client.until(() => messages().filter((m) => m.op === 'event').length >= stored.length, `${stored.length} events`);
    await sleep(200);

    const received = messages()
      .filter((m) => m.op === 'event')
      .map((m) => (m.event as { relayoffset: string }).relayoffset);
    assert.deepEqual(received, stored, 'every offset once, in order');
    assert.ok(stored.length >= 20, `${stored.length} events published`);
    assert.deepEqual(
      refreshed()
        .slice(0, 5)
        .map((m) => m.exp),
      exps.slice(1, 6),
      'each refresh answered with its token exp',
    );
    assert.ok(Date.now() > exps[2]! * 1000, 'the connection outlived two of its tokens');
    assert.equal(client.closeInfo, undefined);
    assert.deepEqual(
      messages().filter((m) => !['subscribed', 'event', 'expiring', 'refreshed'].includes(m.op)),
      [],
    );
    assert.equal(await connectionsOpened(gateway), 1);
  });
});

describe("the SDK's subscribe() refreshes a token function's token in place", () => {
  /** Follows `tenant` with the SDK and records events and statuses. */
  function follow(t: Parameters<typeof onEnd>[0], gateway: TestGateway, tenant: string, token: () => Promise<string>) {
    const events: ReceivedEvent<Ticks>[] = [];
    const statuses: Array<{ status: SubscriptionStatus; code: number | undefined }> = [];
    const sub = subscribe<Ticks>({
      url: gateway.wsUrl,
      token,
      tenantid: tenant,
      backoff: { baseMs: 10, maxMs: 50 },
      onEvent: (event) => events.push(event),
      onStatus: (status, detail) => statuses.push({ status, code: detail?.code }),
    });
    onEnd(t, () => sub.close());
    return { sub, events, statuses };
  }

  test('in Node: the function is called before each expiry, and the one connection carries every event', async (t) => {
    const gateway = await gatewayFor(t);
    const tenant = await seededTenant(stack.relay, 'sdk-refresh');
    let calls = 0;
    const { sub, events, statuses } = follow(t, gateway, tenant, () => {
      calls++;
      return stack.relay.token({ scope: 'subscribe', tenants: [tenant], expiresIn: 3 });
    });
    await within(sub.ready, 'ready');
    const publishing = publishAllAlong(tenant);
    await until(() => calls >= 4, 'three refreshes', 30_000);
    const stored = await publishing.stop();
    await until(() => events.length >= stored.length, `${stored.length} events`, 15_000);
    await sleep(200);

    assert.deepEqual(
      events.map((e) => e.relayoffset),
      stored,
    );
    assert.deepEqual(
      statuses.map((s) => s.status),
      ['open'],
      'no reconnect',
    );
    assert.equal(await connectionsOpened(gateway), 1, 'one connection at the gateway');
    const refreshes = await scrapeMetric(gateway.metricsUrl, 'tenantcast_gateway_token_refreshes_total', { outcome: 'refreshed' });
    assert.ok((refreshes ?? 0) >= 3, `${refreshes} refreshes`);
  });

  test('a refresh token for another tenant ends the subscription with TC_ERR_FORBIDDEN_TENANT (4004), without a reconnect', async (t) => {
    const gateway = await gatewayFor(t);
    const tenant = await seededTenant(stack.relay, 'sdk-refused');
    let calls = 0;
    const { sub, statuses } = follow(t, gateway, tenant, () =>
      stack.relay.token({ scope: 'subscribe', tenants: [calls++ === 0 ? tenant : `${tenant}-other`], expiresIn: 3 }),
    );
    await within(sub.ready, 'ready');
    const failure = await within(
      (async () => {
        try {
          for await (const _ of sub);
        } catch (error) {
          return error;
        }
      })(),
      'the iteration to end',
      10_000,
    );
    assert.ok(failure instanceof TenantcastError, String(failure));
    assert.equal(failure.code, 'TC_ERR_FORBIDDEN_TENANT');
    assert.match(failure.message, /4004/);
    assert.equal(sub.status, 'closed');
    assert.ok(!statuses.some((s) => s.status === 'reconnecting'), JSON.stringify(statuses));
    assert.equal(calls, 2);
  });
});
