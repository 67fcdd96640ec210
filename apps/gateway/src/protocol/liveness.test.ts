import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, makeEvent, plainUrl, sleep, testToken, until } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

/** The gateway pings every 200 ms. */
const stack = useGateway({ gateway: { heartbeatMs: 200 } });

describe('heartbeat', () => {
  test('a client that does not answer pings is terminated', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('mute');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token, autoPong: false });
    const { code } = await client.closedWith(5000);
    // terminate() cuts the TCP connection without a close frame: 1006 on the client. (The next test
    // shows that a client answering the pings is not cut, so this is the heartbeat at work.)
    assert.equal(code, 1006);
  });

  test('a client that answers pings stays connected across several intervals and still gets events', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('alive');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    let pings = 0;
    client.ws.on('ping', () => pings++);
    await until(() => pings >= 5 || client.closeInfo !== undefined, '5 pings', 5000);
    assert.equal(client.closeInfo, undefined);
    assert.equal(client.ws.readyState, client.ws.OPEN);
    const accepted = await stack.writer.publishOne(makeEvent(tenant, { id: 'still-here' }));
    const received = await client.receivedId('still-here');
    assert.equal(received.at(-1)!.relayoffset, accepted.offset);
  });

  test('a multiplexed client that does not answer pings is terminated too', async (t) => {
    const client = await connect(t, `${stack.gateway.wsUrl}/v1/connect`, {
      token: stack.token,
      protocols: ['tenantcast.v1'],
      autoPong: false,
    });
    assert.equal((await client.closedWith(5000)).code, 1006);
  });
});

describe('token expiry', () => {
  for (const [mode, url, protocols] of [
    ['plain', (tenant: string) => plainUrl(stack.gateway.wsUrl, tenant), ['cloudevents.json']],
    ['multiplexed', () => `${stack.gateway.wsUrl}/v1/connect`, ['tenantcast.v1']],
  ] as const) {
    test(`${mode} mode: the connection is closed with 4001 once the token expires`, async (t) => {
      const { tenant } = await stack.writer.tenantWithHistory('expiring');
      const shortLived = await testToken({ scope: 'subscribe', tenants: [tenant], expiresIn: 2 });
      const exp = (JSON.parse(Buffer.from(shortLived.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
      const client = await connect(t, url(tenant), { token: shortLived, protocols: [...protocols] });
      if (mode === 'multiplexed') {
        client.send({ op: 'subscribe', id: 's', tenantid: tenant });
        await client.received(1);
        assert.equal(client.messages[0]!.op, 'subscribed');
      }
      const { code, reason } = await client.closedWith(6000);
      assert.equal(code, 4001, reason);
      assert.match(reason, /token/i);
      // Not before the token's exp (a second's resolution).
      assert.ok(Date.now() >= exp * 1000 - 20, `closed ${exp * 1000 - Date.now()} ms before exp`);
    });
  }

  test('a token without expiry, where AUTH_ALLOW_NO_EXP lets one in, is not cut', async (t) => {
    const gateway = await stack.startGateway(t, { heartbeatMs: 200, authAllowNoExp: true });
    const { tenant } = await stack.writer.tenantWithHistory('forever');
    const client = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: await testToken({ expiresIn: false }) });
    await sleep(600);
    assert.equal(client.closeInfo, undefined);
  });

  test('a token expiring more than 2^31 - 1 ms (24.8 days) ahead is not cut at once: its timer does not overflow', async (t) => {
    // setTimeout with a delay past 2^31 - 1 ms fires after 1 ms; the gateway waits in steps instead
    // (token-expiry.test.ts shows it still closes at exp).
    const gateway = await stack.startGateway(t, { heartbeatMs: 200, authMaxTokenLifetimeSeconds: 60 * 24 * 3600 });
    const { tenant } = await stack.writer.tenantWithHistory('far-exp');
    for (const [url, protocols] of [
      [plainUrl(gateway.wsUrl, tenant), ['cloudevents.json']],
      [`${gateway.wsUrl}/v1/connect`, ['tenantcast.v1']],
    ] as const) {
      const token = await testToken({ scope: 'subscribe', tenants: [tenant], expiresIn: '30d' });
      const client = await connect(t, url, { token, protocols: [...protocols] });
      await sleep(1500);
      assert.equal(client.closeInfo, undefined, `${url}: ${JSON.stringify(client.closeInfo)}`);
      const accepted = await stack.writer.publishOne(makeEvent(tenant, { id: `still-open-${protocols[0]}` }));
      if (protocols[0] === 'tenantcast.v1') {
        client.send({ op: 'subscribe', id: 's', tenantid: tenant, after: accepted.offset });
        await client.received(1);
        assert.equal(client.messages[0]!.op, 'subscribed');
      } else {
        assert.equal((await client.receivedId(accepted.id)).at(-1)!.relayoffset, accepted.offset);
      }
    }
  });
});

describe('client frames in plain mode', () => {
  test('are read and ignored', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('chatty');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    client.ws.send('hello');
    client.ws.send(Buffer.from([1, 2, 3]));
    const accepted = await stack.writer.publishOne(makeEvent(tenant, { id: 'after-chat' }));
    const received = await client.receivedId('after-chat');
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      [accepted.offset],
    );
  });

  test('one over maxPayload closes the connection with 1009', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('big-frame');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    client.ws.send('x'.repeat(stack.gateway.config.maxPayload + 1));
    assert.equal((await client.closedWith()).code, 1009);
  });
});
